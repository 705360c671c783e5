"""Each step of the ladder notifies its recipient by email and the case's team in its chat tool.

Escalation and ownership run together on the real broker (the ladder follows the team that
ownership announces), mail goes over real SMTP to a sink on loopback, and the team's chat tool
is a real HTTP server that checks each call's signature.
"""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from shared.events import AuditOverdue, SlaEvent, new_event
from tests.support.confirmation import MailSink, free_port
from tests.support.env import Database, TestEnv
from tests.support.escalation import started
from tests.support.frontend_hook import FrontEndHook
from tests.support.ownership import Desk, eventually, running_desk
from tests.support.services import auth

DESCRIPTION = "Ana Lima, card 4417: the refund for my lost parcel never came."
SENDING = {
    "notifications_enabled": True,
    "notification_poll_seconds": 0.05,
    "notification_retry_base_seconds": 0.2,
    "notification_retry_max_seconds": 0.5,
    "console_url": "https://console.bank.example",
}


@dataclass
class System:
    escalation: httpx.AsyncClient
    desk: Desk
    sink: MailSink
    chat: FrontEndHook

    def as_(self, role: str, subject: str = "tester") -> dict[str, str]:
        return auth(self.desk.settings, role, subject)


@asynccontextmanager
async def running(env: TestEnv, database: Database, sink: MailSink) -> AsyncIterator[System]:
    chat = FrontEndHook()
    await chat.start()
    try:
        async with (
            database("escalation") as url,
            started(env, url, smtp_port=sink.port, **SENDING) as escalation,
            running_desk(env, database) as desk,
        ):
            yield System(escalation, desk, sink, chat)
    finally:
        await chat.stop()


@pytest.fixture
async def system(env: TestEnv, database: Database) -> AsyncIterator[System]:
    sink = MailSink(free_port())
    await sink.start()
    try:
        async with running(env, database, sink) as started_system:
            yield started_system
    finally:
        await sink.stop()


async def breach(system: System, case_id: str) -> None:
    due = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    event = new_event(
        "sla.breached",
        SlaEvent(subject="case", id=case_id, due_at=due, level="breached"),
        producer="ownership",
        complaint_id=case_id,
    )
    await system.desk.publish(event, event)  # delivered twice: it is sent once


async def delivery_case(system: System) -> str:
    """A billing complaint handed over to the delivery team, with its chat webhook set."""
    desk = system.desk
    hooked = await system.escalation.put(
        "/v1/team-webhooks/delivery", json={"url": system.chat.url, "secret": system.chat.secret}
    )
    assert hooked.status_code == 200, hooked.text
    # Received now: the case's own SLA timers are far off, so only the breach below escalates.
    received_at = datetime.now(UTC)
    case_id = await desk.receive(
        category="billing", description=DESCRIPTION, received_at=received_at
    )
    await desk.wait_case(case_id, lambda c: bool(c) and c.get("priority") is not None)
    handed = await desk.client.post(
        f"/v1/cases/{case_id}/reassign",
        json={"to_owner_id": "dave", "reason": "It is a delivery matter after all."},
        headers=desk.as_("supervisor"),
    )
    assert handed.status_code == 200, handed.text
    await asyncio.sleep(0.3)  # the hand-over reaches escalation first, as in production
    return case_id


async def test_a_breach_mails_each_step_and_posts_to_the_current_teams_chat(
    system: System,
) -> None:
    case_id = await delivery_case(system)
    await breach(system, case_id)

    mails = [await system.sink.next() for _ in range(2)]
    reached = sorted(rcpt for envelope, _ in mails for rcpt in envelope.rcpt_tos)
    # The delivery team's lead, not billing's (maria@): the ladder follows the case.
    assert reached == ["dave@bank.example", "nadia@bank.example"]
    for _, mail in mails:
        body = mail.get_content()
        assert f"https://console.bank.example/cases/{case_id}" in body
        assert "SLA breached of case" in mail["Subject"]
        assert mail["Auto-Submitted"] == "auto-generated"
        assert "Ana" not in body and "4417" not in body  # nothing of the customer's
    posts = [await system.chat.next() for _ in range(2)]
    assert sorted(p["to"] for p in posts) == ["dave", "nadia"]
    assert {p["team"] for p in posts} == {"delivery"} and {p["case_id"] for p in posts} == {case_id}

    listed = await eventually(
        lambda: system.escalation.get("/v1/escalations", params={"case_id": case_id}),
        lambda r: all(n["status"] == "sent" for i in r.json()["items"] for n in i["notifications"]),
    )
    sent = sorted(
        (n["channel"], n["address"]) for i in listed.json()["items"] for n in i["notifications"]
    )
    assert sent == [
        ("email", "dave@bank.example"),
        ("email", "nadia@bank.example"),
        ("webhook", "delivery"),
        ("webhook", "delivery"),
    ]
    await asyncio.sleep(0.5)
    assert system.sink.messages.empty() and system.chat.deliveries.empty()


async def test_mail_waits_out_a_relay_that_is_down(env: TestEnv, database: Database) -> None:
    sink = MailSink(free_port())  # not listening yet: the relay is down
    async with running(env, database, sink) as system:
        case_id = await delivery_case(system)
        await breach(system, case_id)
        await eventually(
            lambda: system.escalation.get("/v1/escalations", params={"case_id": case_id}),
            lambda r: any(
                n["channel"] == "email" and n["last_error"] and n["status"] == "queued"
                for i in r.json()["items"]
                for n in i["notifications"]
            ),
        )
        await sink.start()
        try:
            mails = [await sink.next(timeout=15) for _ in range(2)]
            assert sorted(r for e, _ in mails for r in e.rcpt_tos) == [
                "dave@bank.example",
                "nadia@bank.example",
            ]
            await asyncio.sleep(0.5)
            assert sink.messages.empty()
        finally:
            await sink.stop()


async def test_an_escalated_audit_is_mailed_but_never_posted_to_the_team(
    system: System,
) -> None:
    case_id = await delivery_case(system)
    overdue = new_event(
        "audit.overdue",
        AuditOverdue(audit_id="a-7", attested=True, due_at=datetime.now(UTC)),
        producer="confirmation",
        complaint_id=case_id,
    )
    await system.desk.publish(overdue)
    envelope, mail = await system.sink.next()
    assert envelope.rcpt_tos == ["care-head@bank.example"]
    assert "audit a-7" in mail["Subject"]
    await asyncio.sleep(0.5)
    assert system.chat.deliveries.empty() and system.chat.calls == []


async def test_a_bad_team_webhook_is_refused(system: System) -> None:
    for role, body, status in [
        ("owner", {"url": "https://chat.example/h", "secret": "s" * 32}, 403),
        ("supervisor", {"url": "ftp://chat.example/h", "secret": "s" * 32}, 422),
        ("supervisor", {"url": "https://chat.example/h", "secret": "short"}, 422),
        ("supervisor", {"url": "https://chat.example/h", "secret": "s" * 32, "x": 1}, 422),
        ("supervisor", {"url": "https://chat.example/" + "h" * 2100, "secret": "s" * 32}, 422),
    ]:
        answer = await system.escalation.put(
            "/v1/team-webhooks/billing", json=body, headers=system.as_(role, "someone")
        )
        assert answer.status_code == status, (body, answer.text)
    bad_team = await system.escalation.put(
        "/v1/team-webhooks/bad%20team", json={"url": "https://chat.example/h", "secret": "s" * 32}
    )
    assert bad_team.status_code == 422
    assert (await system.escalation.get("/v1/team-webhooks")).json() == []


async def test_team_webhooks_are_listed_without_secrets_and_removed(system: System) -> None:
    secret = "a-chat-secret-of-at-least-32-bytes!!"
    put = await system.escalation.put(
        "/v1/team-webhooks/billing", json={"url": "https://chat.example/billing", "secret": secret}
    )
    assert put.status_code == 200
    listed = await system.escalation.get("/v1/team-webhooks")
    assert [h["team"] for h in listed.json()] == ["billing"] and secret not in listed.text
    assert (await system.escalation.delete("/v1/team-webhooks/billing")).status_code == 204
    gone = await system.escalation.delete("/v1/team-webhooks/billing")
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "team_webhook_not_found"
