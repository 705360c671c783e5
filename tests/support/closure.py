"""The closed loop in process: ownership and confirmation on one bus, the customer's channels."""

import asyncio
import json
import random
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from services.confirmation import webhooks
from services.confirmation.app import create_app as create_confirmation
from services.confirmation.settings import ConfirmationSettings
from services.ownership.app import create_app as create_ownership
from services.ownership.settings import OwnershipSettings
from shared.events import ComplaintReceived, new_event
from tests.support.confirmation import MailSink, free_port
from tests.support.env import Database, TestEnv
from tests.support.frontend_hook import FrontEndHook
from tests.support.ownership import ORGANISATION
from tests.support.publisher import OwnerBus
from tests.support.services import auth, common_settings, running
from tests.support.sms_gateway import SmsGateway

PHONE = "+14155552671"
EMAIL = "ana.lima@example.com"
SMS_CODE = re.compile(r"#([A-Z2-9]{6})\b")
MAIL_TOKEN = re.compile(r"#([A-Z2-9]{14})\]")


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, hours: float) -> None:
        self.now += timedelta(hours=hours)


async def eventually(
    read: Callable[[], Awaitable[Any]], where: Callable[[Any], bool], timeout: float = 10.0
) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await read()
        if where(value):
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met in {timeout}s; last value: {value!r}")
        await asyncio.sleep(0.05)


@dataclass
class Loop:
    ownership: httpx.AsyncClient
    confirmation: httpx.AsyncClient
    own_settings: OwnershipSettings
    settings: ConfirmationSettings
    gateway: SmsGateway
    sink: MailSink
    bus: OwnerBus
    clock: FakeClock
    hook: FrontEndHook  # the front end's delivery webhook: web/chat links arrive there

    def as_(self, role: str, subject: str = "tester") -> dict[str, str]:
        return auth(self.settings, role, subject)

    async def complaint(
        self, channel: str, contact: str, language: str | None = None
    ) -> dict[str, Any]:
        """A complaint as intake publishes it; returns the case once it has its owner."""
        case_id = str(uuid.uuid4())
        data = ComplaintReceived(
            reference="CMP-" + uuid.uuid4().hex[:8].upper(),
            customer_key=uuid.uuid4().hex * 2,
            channel=channel,
            contact=contact,
            category="billing",
            description="I was charged twice.",
            received_at=datetime.now(UTC),
            language=language,
        )
        await self.bus.publish(
            new_event("complaint.received", data, producer="intake", complaint_id=case_id)
        )
        return await self.case_when(case_id, lambda c: bool(c.get("owner_id")))

    async def propose(self, case: dict[str, Any], outcome: str = "resolved") -> None:
        summary = "We refunded the second charge of 42.00 EUR to your card."
        response = await self.ownership.post(
            f"/v1/cases/{case['id']}/resolution",
            json={"outcome": outcome, "summary": summary},
            headers=self.as_("owner", case["owner_id"]),
        )
        assert response.status_code in (200, 201), response.text

    async def case(self, case_id: str) -> dict[str, Any]:
        response = await self.ownership.get(f"/v1/cases/{case_id}", headers=self.as_("supervisor"))
        return dict(response.json()) if response.status_code == 200 else {}

    async def case_when(
        self, case_id: str, where: Callable[[dict[str, Any]], bool]
    ) -> dict[str, Any]:
        return dict(await eventually(lambda: self.case(case_id), where))

    async def timeline(self, case_id: str) -> list[dict[str, Any]]:
        response = await self.ownership.get(
            f"/v1/cases/{case_id}/timeline", headers=self.as_("supervisor")
        )
        assert response.status_code == 200, response.text
        return list(response.json()["entries"])

    async def entries(self, case_id: str, kind: str, count: int = 1) -> list[dict[str, Any]]:
        found = await eventually(
            lambda: self.timeline(case_id),
            lambda es: len([e for e in es if e["kind"] == kind]) >= count,
        )
        return [e for e in found if e["kind"] == kind]

    async def view(self, case_id: str, role: str = "supervisor") -> dict[str, Any]:
        response = await self.confirmation.get(
            "/v1/confirmations", params={"complaint_id": case_id}, headers=self.as_(role)
        )
        return dict(response.json()) if response.status_code == 200 else {}

    async def view_when(
        self, case_id: str, where: Callable[[dict[str, Any]], bool], role: str = "supervisor"
    ) -> dict[str, Any]:
        return dict(await eventually(lambda: self.view(case_id, role), where))

    async def sms_code(self) -> str:
        message = await self.gateway.next()
        match = SMS_CODE.search(message.body)
        assert match, message.body
        return match.group(1)

    async def sms(
        self,
        text: str,
        sender: str = PHONE,
        secret: str | None = None,
        timestamp: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """The gateway posts a customer's text to the webhook, signed unless told otherwise."""
        body = f"From={_q(sender)}&To={_q(self.settings.sms_from)}&Body={_q(text)}"
        return await self.signed(
            "/v1/inbound/sms",
            body.encode(),
            secret or self.settings.sms_webhook_secret,
            timestamp,
            headers,
            "application/x-www-form-urlencoded",
        )

    async def signed(
        self,
        path: str,
        raw: bytes,
        secret: str,
        timestamp: str | None = None,
        headers: dict[str, str] | None = None,
        content_type: str = "application/json",
    ) -> httpx.Response:
        stamp = timestamp or str(int(self.clock().timestamp()))
        signed = {
            "Content-Type": content_type,
            webhooks.TIMESTAMP_HEADER: stamp,
            webhooks.SIGNATURE_HEADER: webhooks.sign(secret, stamp, raw),
        }
        if headers is not None:
            signed = {**signed, **headers}
            signed = {k: v for k, v in signed.items() if v}
        return await self.confirmation.post(path, content=raw, headers=signed)

    async def mail(self, payload: dict[str, Any], **kwargs: Any) -> httpx.Response:
        raw = json.dumps(payload).encode()
        return await self.signed(
            "/v1/inbound/email", raw, self.settings.email_webhook_secret, **kwargs
        )


def _q(value: str) -> str:
    from urllib.parse import quote_plus

    return quote_plus(value)


@asynccontextmanager
async def closure_loop(env: TestEnv, database: Database, **extra: Any) -> AsyncIterator[Loop]:
    organisation = env.tmp / "organisation.toml"
    organisation.write_text(ORGANISATION)
    clock = FakeClock()
    # The tests of this harness read the customer's first message as the question; the
    # acknowledgement that comes before it is tested on its own (test_confirmation_ack.py).
    extra.setdefault("acknowledgement_enabled", False)
    async with AsyncExitStack() as stack:
        gateway = SmsGateway()
        await gateway.start()
        stack.push_async_callback(gateway.stop)
        sink = MailSink(free_port())
        await sink.start()
        stack.push_async_callback(sink.stop)
        own_url = await stack.enter_async_context(database("ownership"))
        conf_url = await stack.enter_async_context(database("confirmation"))
        own_settings = OwnershipSettings(
            **common_settings(env, own_url, organisation_file=organisation)
        )
        settings = ConfirmationSettings(
            **common_settings(
                env,
                conf_url,
                smtp_port=sink.port,
                smtp_listen_enabled=False,
                outbound_poll_seconds=0.05,
                reminder_poll_seconds=0.05,
                sms_gateway_url=gateway.url,
                sms_account=gateway.account,
                sms_token=gateway.token,
                public_base_url="https://complaints.example",
                **extra,
            )
        )
        bus = env.publisher()
        await bus.connect()
        stack.push_async_callback(bus.close)
        ownership = await stack.enter_async_context(running(create_ownership(own_settings)))
        app = create_confirmation(settings, clock=clock, rng=random.Random(7))
        confirmation = await stack.enter_async_context(running(app))
        hook = FrontEndHook()
        await hook.start()
        stack.push_async_callback(hook.stop)
        for channel in ("web", "chat"):
            registered = await confirmation.put(
                f"/v1/delivery-webhooks/{channel}",
                json={"url": hook.url, "secret": hook.secret},
                headers=auth(settings, "frontend", "desk-1"),
            )
            assert registered.status_code == 200, registered.text
        yield Loop(ownership, confirmation, own_settings, settings, gateway, sink, bus, clock, hook)


async def _link(loop: Loop, case_id: str) -> str:
    """The link the front end's webhook was given for the case (the customer's session)."""
    while True:
        delivered = await loop.hook.next()
        if delivered["complaint_id"] == case_id:
            return str(delivered["link"])
