"""Confirmation in a test: the customer's mailbox, the service with its bus, the events it hears."""

import asyncio
import email
import email.policy
import re
import socket
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import aiosmtplib
import httpx
from aiosmtpd.smtp import SMTP
from aiosmtpd.smtp import Envelope as SmtpEnvelope
from fastapi import FastAPI
from sqlalchemy import select

from services.confirmation.app import create_app
from services.confirmation.models import outbox
from services.confirmation.settings import ConfirmationSettings
from shared.events import (
    CaseResolutionProposed,
    ComplaintReceived,
    Envelope,
    new_event,
)
from tests.support.env import Database, TestEnv
from tests.support.publisher import OwnerBus
from tests.support.services import auth, common_settings, running

CUSTOMER = "Ana.Lima@example.com"
SUMMARY = "We refunded the second charge of 42.00 EUR to your card on 21 November."
TOKEN = re.compile(r"#([A-Z2-9]{14})\]")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class MailSink:
    """The customer's mailbox: an SMTP server on loopback that keeps what it receives."""

    def __init__(self, port: int):
        self.port = port
        self.messages: asyncio.Queue[tuple[SmtpEnvelope, EmailMessage]] = asyncio.Queue()
        self._server: asyncio.Server | None = None

    async def handle_DATA(self, server: SMTP, session: Any, envelope: SmtpEnvelope) -> str:
        message = email.message_from_bytes(
            envelope.original_content or b"", policy=email.policy.default
        )
        assert isinstance(message, EmailMessage)
        await self.messages.put((envelope, message))
        return "250 OK"

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: SMTP(self, hostname="sink", enable_SMTPUTF8=True, loop=loop),
            "127.0.0.1",
            self.port,
        )

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def next(self, timeout: float = 10.0) -> tuple[SmtpEnvelope, EmailMessage]:
        return await asyncio.wait_for(self.messages.get(), timeout)


@dataclass
class Harness:
    client: httpx.AsyncClient
    app: FastAPI
    settings: ConfirmationSettings
    sink: MailSink
    bus: OwnerBus

    async def complaint(self, channel: str = "email", contact: str = CUSTOMER) -> str:
        complaint_id = str(uuid.uuid4())
        await self.bus.publish(complaint_received(complaint_id, channel, contact))
        return complaint_id

    async def propose(self, complaint_id: str, proposal_no: int = 1, **data: Any) -> Envelope:
        envelope = resolution_proposed(complaint_id, proposal_no, **data)
        await self.bus.publish(envelope)
        return envelope

    async def asked(self) -> tuple[EmailMessage, str]:
        """The next confirmation email the customer receives, and the token in its subject."""
        _, message = await self.sink.next()
        match = TOKEN.search(str(message["Subject"]))
        assert match, message["Subject"]
        return message, match.group(1)

    async def reply(
        self,
        asked: EmailMessage,
        text: str,
        sender: str = CUSTOMER,
        envelope_sender: str | None = None,
        subject: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """The customer answers over SMTP to the service's listener, quoting the question."""
        message = EmailMessage()
        message["From"] = sender
        message["To"] = str(asked["Reply-To"])
        message["Subject"] = subject if subject is not None else f"Re: {asked['Subject']}"
        message["In-Reply-To"] = str(asked["Message-ID"])
        for name, value in (headers or {}).items():
            message[name] = value
        quoted = "\n".join(f"> {line}" for line in asked.get_content().splitlines())
        message.set_content(f"{text}\n\nOn Mon, 23 Nov 2026, Complaints wrote:\n{quoted}\n")
        await aiosmtplib.send(
            message,
            hostname="127.0.0.1",
            port=self.settings.smtp_listen_port,
            sender=envelope_sender or sender,
            timeout=10,
        )

    async def confirmations(self, complaint_id: str) -> dict[str, Any]:
        response = await self.client.get("/v1/confirmations", params={"complaint_id": complaint_id})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def view_when(
        self, complaint_id: str, check: Callable[[dict[str, Any]], bool]
    ) -> dict[str, Any]:
        """The confirmations view once `check` holds (polled briefly: the bus is asynchronous)."""
        params = {"complaint_id": complaint_id}
        for _ in range(200):
            response = await self.client.get("/v1/confirmations", params=params)
            if response.status_code == 200 and check(response.json()):
                return dict(response.json())
            await asyncio.sleep(0.05)
        raise AssertionError(f"never reached: {response.text}")

    async def emitted(self, complaint_id: str) -> list[str]:
        """Event types in the outbox for a complaint: committed is what will be published."""
        async with self.app.state.engine.connect() as conn:
            bodies = (await conn.execute(select(outbox.c.body))).scalars().all()
        events = [Envelope.model_validate_json(b) for b in bodies]
        return [e.type for e in events if e.complaint_id == complaint_id]


def complaint_received(complaint_id: str, channel: str, contact: str) -> Envelope:
    data = ComplaintReceived(
        reference="CMP-" + uuid.uuid4().hex[:8].upper(),
        customer_key="k" * 64,
        channel=channel,
        contact=contact,
        category="billing",
        description="I was charged twice.",
        received_at=datetime.now(UTC),
    )
    return new_event("complaint.received", data, producer="intake", complaint_id=complaint_id)


def resolution_proposed(complaint_id: str, proposal_no: int = 1, **data: Any) -> Envelope:
    fields: dict[str, Any] = {"owner_id": "owner-7", "outcome": "resolved", "summary": SUMMARY}
    proposal = CaseResolutionProposed(proposal_no=proposal_no, **{**fields, **data})
    return new_event(
        "case.resolution_proposed", proposal, producer="ownership", complaint_id=complaint_id
    )


@asynccontextmanager
async def confirmation_service(
    env: TestEnv, database: Database, **extra: Any
) -> AsyncIterator[Harness]:
    sink = MailSink(free_port())
    await sink.start()
    async with database("confirmation") as url:
        settings = ConfirmationSettings(
            **common_settings(
                env,
                url,
                smtp_port=sink.port,
                smtp_listen_port=free_port(),
                outbound_poll_seconds=0.05,
                **extra,
            )
        )
        app = create_app(settings)
        bus = env.publisher()
        await bus.connect()
        try:
            async with running(app) as client:
                client.headers.update(auth(settings, "supervisor", "sup-1"))
                yield Harness(client, app, settings, sink, bus)
        finally:
            await bus.close()
            await sink.stop()
