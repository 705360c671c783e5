# ruff: noqa: RUF001  (Chinese punctuation is full-width by design)
"""The acknowledgement: the customer hears, on their channel, that the case is opened and owned.

Ownership and confirmation run together (test_confirmation_flow's harness, acknowledgements
on), so the `case.assigned` acknowledged is the one ownership really emits.
"""

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.exc import IntegrityError

from services.confirmation.domain import TOKEN_PATTERN
from services.confirmation.models import outbound_messages
from shared.db import make_engine
from shared.events import CaseAssigned, Envelope, new_event
from tests.service.test_confirmation_migrations import migrate
from tests.support.closure import EMAIL, MAIL_TOKEN, PHONE, SMS_CODE, closure_loop
from tests.support.env import Database, TestEnv

ACK = {"acknowledgement_enabled": True}


def acknowledgements(view: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in view["outbound"] if m["kind"] == "acknowledgement"]


def copy_of(assigned: Envelope) -> Envelope:
    """The same assignment published again under a new event id (a producer's retry)."""
    data = CaseAssigned.model_validate(assigned.data)
    return new_event(
        "case.assigned", data, producer="ownership", complaint_id=assigned.complaint_id
    )


async def test_email_acknowledgement_arrives_once_with_the_reference(
    env: TestEnv, database: Database
) -> None:
    async with closure_loop(env, database, **ACK) as loop, env.probe("#") as probe:
        case = await loop.complaint("email", EMAIL)
        envelope, ack = await loop.sink.next()
        assigned = await probe.wait_for("case.assigned", case["id"])
        await loop.bus.publish(assigned, copy_of(assigned))  # redelivered, and sent twice
        await asyncio.sleep(1.0)
        assert loop.sink.messages.empty(), "a redelivered assignment sent a second message"
        view = await loop.view_when(case["id"], lambda v: acknowledgements(v)[0]["sent_at"])
        await loop.propose(case)
        _, asked = await loop.sink.next()
        requested = await probe.wait_for("confirmation.requested", case["id"])
        token = MAIL_TOKEN.search(str(asked["Subject"]))
        assert token
        answered = await loop.mail(
            {
                "from": EMAIL,
                "to": loop.settings.reply_address,
                "subject": f"Re: {asked['Subject']}",
                "text": "Yes, it is resolved. Thank you!",
            }
        )
        closed = await loop.case_when(case["id"], lambda c: c["status"] == "closed")
    reference = case["reference"]
    assert envelope.rcpt_tos == [EMAIL] and str(ack["To"]) == EMAIL
    subject, body = str(ack["Subject"]), ack.get_content()
    assert subject == f"We have received your complaint {reference} [ref {reference}]"
    assert f"reference {reference}" in body and "billing team" in body
    assert "#" not in subject and not TOKEN_PATTERN.search(body)
    assert str(ack["Auto-Submitted"]) == "auto-generated"
    [sent] = acknowledgements(view)
    assert sent["request_id"] is None and sent["status"] == "sent" and sent["recipient"] == EMAIL
    # Only the question is announced as a request; the acknowledgement announces nothing.
    assert len(probe.of_type("confirmation.requested", case["id"])) == 1
    assert requested.data["request_id"] != sent["id"]
    assert answered.json()["verdict"] == "yes" and closed["outcome"] == "resolved"


async def test_a_reply_to_the_acknowledgement_answers_nothing(
    env: TestEnv, database: Database
) -> None:
    async with closure_loop(env, database, **ACK) as loop, env.probe("confirmation.#") as probe:
        case = await loop.complaint("email", EMAIL)
        _, ack = await loop.sink.next()
        reply = {
            "from": EMAIL,
            "to": loop.settings.reply_address,
            "subject": f"Re: {ack['Subject']}",
            "text": "Yes, resolved, thanks!\n\n> " + "\n> ".join(ack.get_content().splitlines()),
        }
        before = await loop.mail(reply)
        await loop.propose(case)
        _, asked = await loop.sink.next()
        await probe.wait_for("confirmation.requested", case["id"])
        # With a question pending, a yes to the acknowledgement still names no request.
        during = await loop.mail({**reply, "text": "Yes, it is resolved."})
        await asyncio.sleep(0.5)  # room for a wrongly emitted answer to reach ownership
        view = await loop.view(case["id"])
        status = (await loop.case(case["id"]))["status"]
    for result in (before.json(), during.json()):
        assert result["verdict"] == "rejected" and result["reason"] == "unknown_token"
        assert result["request_id"] is None
    # Shown with the complaint it quotes the reference of, answering no request.
    refused = [(m["request_id"], m["reason"]) for m in view["inbound"]]
    assert refused == [(None, "unknown_token")] * 2
    assert [r["status"] for r in view["requests"]] == ["pending"]
    assert status == "resolution_proposed"
    answers = ("confirmation.confirmed", "confirmation.rejected", "confirmation.unclear")
    assert not [e for t in answers for e in probe.of_type(t, case["id"])]
    assert MAIL_TOKEN.search(str(asked["Subject"]))


async def test_sms_acknowledgement_has_no_code_and_a_bare_yes_to_it_closes_nothing(
    env: TestEnv, database: Database
) -> None:
    async with closure_loop(env, database, **ACK) as loop:
        case = await loop.complaint("sms", PHONE)
        ack = await loop.gateway.next()
        answered = await loop.sms("YES")
        await asyncio.sleep(0.3)
        status = (await loop.case(case["id"]))["status"]
    assert ack.to == PHONE and case["reference"] in ack.body and "#" not in ack.body
    assert not SMS_CODE.search(ack.body)
    assert answered.json()["reason"] == "unknown_token" and status == "assigned"


async def test_web_acknowledgement_reaches_the_front_end_without_a_link(
    env: TestEnv, database: Database
) -> None:
    async with closure_loop(env, database, **ACK) as loop:
        case = await loop.complaint("web", "web.customer@example.com")
        delivered = await asyncio.wait_for(loop.hook.deliveries.get(), 10)
    assert delivered["type"] == "confirmation.acknowledgement"
    assert delivered["kind"] == "acknowledgement" and delivered["link"] is None
    assert delivered["request_id"] is None and delivered["complaint_id"] == case["id"]
    assert case["reference"] in delivered["text"] and "/c/" not in delivered["text"]


async def test_chinese_complaint_is_acknowledged_and_asked_in_chinese(
    env: TestEnv, database: Database
) -> None:
    async with closure_loop(env, database, **ACK) as loop:
        case = await loop.complaint("email", EMAIL, language="zh-CN")
        _, ack = await loop.sink.next()
        await loop.propose(case)
        _, asked = await loop.sink.next()
        token = MAIL_TOKEN.search(str(asked["Subject"]))
        assert token, asked["Subject"]
        answered = await loop.mail(
            {
                "from": EMAIL,
                "to": loop.settings.reply_address,
                "subject": f"回复：{asked['Subject']}",
                "text": "是的，已经解决了，谢谢！\n\n在 2026年12月3日，Complaints 写道：\n> 您好",
            }
        )
        closed = await loop.case_when(case["id"], lambda c: c["status"] == "closed")
    reference = case["reference"]
    assert str(ack["Subject"]) == f"我们已收到您的投诉 {reference} [ref {reference}]"
    assert f"编号为 {reference}" in ack.get_content()
    subject = str(asked["Subject"])
    assert subject == f"您的投诉 {reference} 是否已解决？ [ref {reference} #{token.group(1)}]"
    body = asked.get_content()
    assert "42.00 EUR" in body and "如已解决，请回复“是”（YES）" in body
    assert answered.json()["verdict"] == "yes" and closed["outcome"] == "resolved"


async def test_chinese_sms_complaint_gets_chinese_texts_and_a_chinese_yes_closes(
    env: TestEnv, database: Database
) -> None:
    async with closure_loop(env, database, **ACK) as loop:
        case = await loop.complaint("sms", PHONE, language="zh")
        ack = await loop.gateway.next()
        await loop.propose(case, outcome="cannot_fulfil")
        code = await loop.sms_code()
        answered = await loop.sms(f"收到 #{code}")
        closed = await loop.case_when(case["id"], lambda c: c["status"] == "closed")
    assert ack.body.startswith(f"我们已收到您的投诉 {case['reference']}")
    assert answered.json()["verdict"] == "yes" and closed["outcome"] == "cannot_fulfil"


async def test_english_is_kept_for_other_languages(env: TestEnv, database: Database) -> None:
    async with closure_loop(env, database, **ACK) as loop:
        case = await loop.complaint("email", EMAIL, language="fr-CA")
        _, ack = await loop.sink.next()
        await loop.propose(case)
        _, asked = await loop.sink.next()
    assert str(ack["Subject"]).startswith("We have received your complaint")
    assert str(asked["Subject"]).startswith(f"Is your complaint {case['reference']} resolved?")


async def test_no_acknowledgement_when_switched_off(env: TestEnv, database: Database) -> None:
    async with closure_loop(env, database, acknowledgement_enabled=False) as loop:
        case = await loop.complaint("email", EMAIL)
        await loop.propose(case)
        _, first = await loop.sink.next()
        view = await loop.view_when(case["id"], lambda v: bool(v["outbound"]))
    assert MAIL_TOKEN.search(str(first["Subject"])) and not acknowledgements(view)


async def test_the_database_refuses_a_second_acknowledgement(database: Database) -> None:
    async with database("confirmation_ack_unique") as url:
        await asyncio.to_thread(migrate, url, "head")
        engine = make_engine(url)
        now = datetime.now(UTC)

        def row(kind: str) -> dict[str, Any]:
            return {
                "id": str(uuid.uuid4()),
                "request_id": None if kind == "acknowledgement" else "r1",
                "complaint_id": "c1",
                "channel": "email",
                "recipient": EMAIL,
                "subject": "s",
                "body": "b",
                "message_id": "<m@x>",
                "correlation_id": "k",
                "status": "queued",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
                "kind": kind,
            }

        try:
            async with engine.begin() as conn:
                for kind in ("acknowledgement", "request", "request", "reminder"):
                    await conn.execute(outbound_messages.insert().values(**row(kind)))
            with pytest.raises(IntegrityError):
                async with engine.begin() as conn:
                    await conn.execute(outbound_messages.insert().values(**row("acknowledgement")))
        finally:
            await engine.dispose()
