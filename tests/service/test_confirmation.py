"""Confirmation asks the customer by real email (SMTP on loopback), on both database backends.

The harness here is shared with test_confirmation_replies.py: a mail sink that stands for the
customer's mailbox, and the service with its own SMTP listener for the customer's replies.
"""

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
from shared.bus import Bus
from shared.events import (
    CaseResolutionProposed,
    ComplaintReceived,
    Envelope,
    new_event,
)
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
    bus: Bus

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
        channel=channel,  # type: ignore[arg-type]
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
async def confirmation_service(env: Any, database: Any, **extra: Any) -> AsyncIterator[Harness]:
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


async def test_customer_is_asked_by_email_at_the_original_address(env, database) -> None:  # type: ignore[no-untyped-def]
    async with confirmation_service(env, database) as h, env.probe("confirmation.#") as probe:
        complaint_id = await h.complaint()
        proposal = await h.propose(complaint_id)
        message, token = await h.asked()
        requested = await probe.wait_for("confirmation.requested", complaint_id)
        view = await h.confirmations(complaint_id)
    reference = view["reference"]
    assert message["To"] == CUSTOMER
    assert message["From"] == "Complaints <confirm@complaints.localhost>"
    assert message["Reply-To"] == "confirm@complaints.localhost"
    assert (
        message["Subject"] == f"Is your complaint {reference} resolved? [ref {reference} #{token}]"
    )
    assert message["Message-ID"]
    body = message.get_content()
    assert SUMMARY in body and "Reply YES" in body and "Reply NO" in body
    assert "keep the subject line" in body
    [request] = view["requests"]
    assert request["status"] == "pending" and request["channel"] == "email"
    assert request["contact"] == CUSTOMER and request["proposal_no"] == 1
    assert requested.data["request_id"] == request["id"] and requested.data["channel"] == "email"
    assert requested.correlation_id == proposal.correlation_id
    assert request["created_at"].endswith("Z")
    [sent] = view["outbound"]
    assert sent["status"] == "sent" and sent["attempts"] == 1 and sent["sent_at"]
    assert sent["subject"].endswith("#\u2026]")  # the words kept, the token gone
    assert token not in str(view) and "token_hash" not in str(view)


async def test_cannot_fulfil_asks_for_an_acknowledgement(env, database) -> None:  # type: ignore[no-untyped-def]
    explanation = "The law does not allow us to refund a used ticket."
    async with confirmation_service(env, database) as h:
        complaint_id = await h.complaint()
        await h.propose(complaint_id, outcome="cannot_fulfil", summary=explanation)
        message, _ = await h.asked()
    body = message.get_content()
    assert explanation in body and "cannot do what you asked" in body
    assert "Reply YES to acknowledge" in body


async def test_redelivered_proposal_sends_one_email(env, database) -> None:  # type: ignore[no-untyped-def]
    async with confirmation_service(env, database) as h, env.probe("confirmation.#") as probe:
        complaint_id = await h.complaint()
        proposal = await h.propose(complaint_id)
        await h.bus.publish(proposal)
        await h.propose(complaint_id)  # the same proposal under a new event id
        await h.asked()
        await probe.wait_for("confirmation.requested", complaint_id)
        await asyncio.sleep(0.5)  # room for a wrongly created second request to be sent
        view = await h.confirmations(complaint_id)
        assert h.sink.messages.empty()
    assert len(view["requests"]) == 1 and len(view["outbound"]) == 1
    assert len(probe.of_type("confirmation.requested", complaint_id)) == 1


async def test_proposal_that_overtakes_its_complaint_is_retried(env, database) -> None:  # type: ignore[no-untyped-def]
    async with confirmation_service(env, database) as h:
        complaint_id = str(uuid.uuid4())
        await h.propose(complaint_id)
        await asyncio.sleep(0.3)
        await h.bus.publish(complaint_received(complaint_id, "email", CUSTOMER))
        message, _ = await h.asked()
    assert message["To"] == CUSTOMER


async def test_failed_send_is_retried_until_the_mail_server_answers(env, database) -> None:  # type: ignore[no-untyped-def]
    async with confirmation_service(
        env, database, outbound_retry_base_seconds=0.1, outbound_retry_max_seconds=0.2
    ) as h:
        await h.sink.stop()
        complaint_id = await h.complaint()
        await h.propose(complaint_id)
        view = await h.view_when(
            complaint_id, lambda v: bool(v["outbound"]) and v["outbound"][0]["attempts"] >= 2
        )
        assert view["outbound"][0]["status"] == "queued" and view["outbound"][0]["last_error"]
        await h.sink.start()
        message, _ = await h.asked()
        view = await h.view_when(complaint_id, lambda v: v["outbound"][0]["status"] == "sent")
        [sent] = view["outbound"]
    assert message["To"] == CUSTOMER
    assert sent["status"] == "sent" and sent["attempts"] >= 3


async def test_confirmations_need_a_reading_role(env, database) -> None:  # type: ignore[no-untyped-def]
    async with confirmation_service(env, database) as h:
        complaint_id = await h.complaint()
        url = "/v1/confirmations"
        params = {"complaint_id": complaint_id}
        await h.view_when(complaint_id, lambda v: v["reference"] is not None)
        anonymous = await h.client.get(url, params=params, headers={"Authorization": ""})
        frontend = await h.client.get(url, params=params, headers=auth(h.settings, "frontend"))
        owner = await h.client.get(url, params=params, headers=auth(h.settings, "owner", "o-1"))
        missing = await h.client.get(url)
        unknown = await h.client.get(url, params={"complaint_id": str(uuid.uuid4())})
        department = await h.client.get(url, params=params, headers=auth(h.settings, "department"))
    assert anonymous.status_code == 401
    assert frontend.status_code == 200
    assert department.status_code == 403 and department.json()["error"]["code"] == "forbidden"
    assert owner.status_code == 200 and owner.json()["requests"] == []
    assert missing.status_code == 422
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "complaint_not_found"
