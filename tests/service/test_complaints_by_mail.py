"""Complaints that arrive by email and SMS: one customer, one case, answered on their channel.

Intake, ownership and confirmation run together over the real broker; mail comes in through the
signed inbound-mail webhook and texts through the SMS gateway's, and what goes out reaches a
real SMTP sink and the gateway stand-in. Hostile mail must create nothing.
"""

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus

import httpx
import pytest
from sqlalchemy import select

from services.confirmation.models import inbound_messages
from services.intake import erasure as intake_erasure
from services.intake.app import create_app as create_intake
from services.intake.models import complaints, contacts
from services.intake.settings import IntakeSettings
from tests.support.closure import Loop, closure_loop, eventually
from tests.support.env import Database, TestEnv
from tests.support.services import app_of, auth, common_settings, running

ANA = "ana.lima@example.com"
WROTE = "My card was charged twice for one purchase on 2 December, 42.00 EUR each time."


@dataclass
class Desk:
    loop: Loop
    intake: httpx.AsyncClient

    async def email(self, sender: str, text: str, **fields: Any) -> httpx.Response:
        payload = {
            "from": sender,
            "to": self.loop.settings.complaints_address,
            "subject": "Charged twice",
            "text": text,
            "dmarc": "pass",
            **fields,
        }
        return await self.loop.mail(payload)

    async def text(self, sender: str, body: str) -> httpx.Response:
        number = self.loop.settings.sms_complaints_number or ""
        raw = f"From={quote_plus(sender)}&To={quote_plus(number)}&Body={quote_plus(body)}"
        secret = self.loop.settings.sms_webhook_secret
        return await self.loop.signed(
            "/v1/inbound/sms",
            raw.encode(),
            secret,
            content_type="application/x-www-form-urlencoded",
        )

    async def cases(self) -> list[dict[str, Any]]:
        listed = await self.loop.ownership.get(
            "/v1/cases", params={"limit": 100}, headers=self.loop.as_("supervisor")
        )
        assert listed.status_code == 200, listed.text
        return list(listed.json()["items"])

    async def case_from(self, contact: str) -> dict[str, Any]:
        async def found() -> list[dict[str, Any]]:
            return [c for c in await self.cases() if c.get("owner_id")]

        cases = await eventually(found, lambda cs: len(cs) >= 1)
        return dict(cases[0])


@pytest.fixture
async def desk(env: TestEnv, database: Database) -> AsyncIterator[Desk]:
    async with (
        closure_loop(env, database, acknowledgement_enabled=True) as loop,
        database("intake") as url,
    ):
        settings = IntakeSettings(**common_settings(env, url))
        async with running(create_intake(settings)) as intake:
            intake.headers.update(auth(settings, "frontend", "desk-1"))
            yield Desk(loop, intake)


async def test_an_emailed_complaint_is_owned_acknowledged_and_the_next_email_joins_it(
    desk: Desk,
) -> None:
    loop = desk.loop
    sent = await desk.email(f"Ana Lima <{ANA}>", WROTE)
    assert sent.status_code == 200, sent.text
    case = await desk.case_from(ANA)
    assert case["channel"] == "email" and case["category"] == "general"
    envelope, ack = await loop.sink.next()
    assert envelope.rcpt_tos == [ANA] and case["reference"] in ack["Subject"]

    again = await desk.email(ANA, "Also: a third charge appeared today.", subject="More")
    assert again.status_code == 200
    [follow_up] = await loop.entries(case["id"], "contact_added")
    assert "third charge" in follow_up["detail"]["text"]
    await asyncio.sleep(0.5)
    assert len(await desk.cases()) == 1  # one customer, one case, one owner


async def test_a_phone_complaint_then_an_email_is_one_case(desk: Desk) -> None:
    phoned = await desk.intake.post(
        "/v1/complaints",
        json={
            "customer": {"name": "Ana Lima", "email": ANA, "phone": "+1 415 555 2671"},
            "channel": "phone",
            "contact": "+1 415 555 2671",
            "category": "billing",
            "product": "Credit card",
            "description": WROTE,
        },
    )
    assert phoned.status_code == 201, phoned.text
    case = await desk.case_from("+14155552671")
    await desk.email(ANA.upper(), "I am writing as well: still no refund.")
    [follow_up] = await desk.loop.entries(case["id"], "contact_added")
    assert follow_up["detail"]["channel"] == "email" and "no refund" in follow_up["detail"]["text"]
    await asyncio.sleep(0.5)
    assert [c["id"] for c in await desk.cases()] == [case["id"]]


async def test_a_text_to_the_complaints_number_is_a_complaint_answered_by_text(
    desk: Desk,
) -> None:
    sent = await desk.text("(415) 555-0188", "My parcel never arrived and nobody calls back.")
    assert sent.status_code == 200, sent.text
    case = await desk.case_from("+14155550188")
    assert case["channel"] == "sms"
    ack = await desk.loop.gateway.next()
    assert ack.to == "+14155550188" and case["reference"] in ack.body


NO_COMPLAINT = [
    {"headers": {"Auto-Submitted": "auto-replied"}},  # an auto-responder
    {"subject": "Automatic reply: We have received your complaint"},
    {"headers": {"List-Id": "<news.example.com>", "Precedence": "bulk"}},  # a newsletter
    {"headers": {"Auto-Submitted": "auto-generated"}},  # our own mail come back: a loop
    {"dmarc": "fail"},  # a forged sender
    {"subject": "", "text": "   "},  # nothing written
    {"from": "not an address"},
    {"to": "confirm@complaints.localhost"},  # to the reply address: it answers no question
    {"text": "spam " * 50_000},  # over the inbound size limit
]


async def test_mail_that_is_no_complaint_creates_nothing(desk: Desk) -> None:
    """Each in turn, from senders nobody knows; one system for all of them."""
    for n, fields in enumerate(json.loads(json.dumps(NO_COMPLAINT))):
        sender = fields.pop("from", f"stranger.{n}@example.com")
        text = fields.pop("text", WROTE)
        answered = await desk.email(sender, text, **fields)
        assert answered.status_code in (200, 202, 401, 403, 422), (fields, answered.text)
    await asyncio.sleep(1.5)
    assert await desk.cases() == []
    assert desk.loop.sink.messages.empty()


async def test_a_flood_of_identical_retries_is_one_complaint(desk: Desk) -> None:
    """A provider that redelivers its webhook: the signature is accepted once only."""
    payload = json.dumps(
        {
            "from": ANA,
            "to": desk.loop.settings.complaints_address,
            "subject": "Charged twice",
            "text": WROTE,
            "dmarc": "pass",
        }
    ).encode()
    secret = desk.loop.settings.email_webhook_secret
    stamp = str(int(desk.loop.clock().timestamp()))
    answers = [
        await desk.loop.signed("/v1/inbound/email", payload, secret, timestamp=stamp)
        for _ in range(3)
    ]
    assert answers[0].status_code == 200
    await desk.case_from(ANA)
    await asyncio.sleep(0.8)
    assert len(await desk.cases()) == 1


async def test_an_emailed_follow_up_is_reachable_by_the_customers_erasure(desk: Desk) -> None:
    """The follow-up's mail and event are kept under the id it came in under; intake keeps that
    id on the contact and sends it with the customer's complaints when they are erased."""
    await desk.email(ANA, WROTE)
    case = await desk.case_from(ANA)
    await desk.email(ANA, "Also: a third charge appeared today.", subject="More")
    await desk.loop.entries(case["id"], "contact_added")

    intake_engine = app_of(desk.intake).state.engine
    async with intake_engine.connect() as conn:
        contact = (await conn.execute(select(contacts))).one()
        customer_id = await conn.scalar(
            select(complaints.c.customer_id).where(complaints.c.id == case["id"])
        )
        sent_with = await intake_erasure._submissions_of(conn, customer_id, [case["id"]])
    confirmation_engine = app_of(desk.loop.confirmation).state.engine
    async with confirmation_engine.connect() as conn:
        kept_under = set((await conn.execute(select(inbound_messages.c.complaint_id))).scalars())
    assert contact.submission_id is not None and contact.submission_id != case["id"]
    assert kept_under == {case["id"], contact.submission_id}  # the first mail opened the case
    assert sent_with == [contact.submission_id]


async def test_a_follow_up_that_is_another_matter_is_split_into_its_own_case(desk: Desk) -> None:
    await desk.email(ANA, WROTE)
    case = await desk.case_from(ANA)
    await desk.email(ANA, "And my new card never arrived either.", subject="Card")
    await desk.loop.entries(case["id"], "contact_added")
    complaint = (await desk.intake.get(f"/v1/complaints/{case['id']}")).json()
    [contact] = complaint["contacts"]
    path = f"/v1/complaints/{case['id']}/contacts/{contact['id']}/split"
    body = {"category": "delivery", "product": "Debit card", "reason": "a card delivery matter"}
    supervisor = auth(app_of(desk.intake).state.runtime.settings, "supervisor", "sam")
    assert (await desk.intake.post(path, json=body)).status_code == 403  # the front end may not
    split = await desk.intake.post(path, json=body, headers=supervisor)
    assert split.status_code == 201, split.text
    new = split.json()
    assert new["id"] != case["id"] and new["category"] == "delivery" and new["channel"] == "email"
    assert "never arrived" in new["description"] and new["customer_id"] == complaint["customer_id"]
    again = await desk.intake.post(path, json=body, headers=supervisor)
    assert again.status_code == 409 and again.json()["error"]["code"] == "contact_already_split"
    [entry] = await desk.loop.entries(case["id"], "contact_split")
    assert entry["detail"]["into"] == new["id"]
    owned = await desk.loop.case_when(new["id"], lambda c: bool(c.get("owner_id")))
    assert owned["category"] == "delivery"
    assert sorted(c["id"] for c in await desk.cases()) == sorted([case["id"], new["id"]])
