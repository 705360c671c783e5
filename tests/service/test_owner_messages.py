"""The owner writes to the customer on their channel and the customer's answer comes back to the
timeline. Ownership and confirmation run together over the real broker, real SMTP and the SMS
gateway stand-in, so the message confirmation sends is the one ownership really announced."""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.support.closure import EMAIL, PHONE, Loop, closure_loop
from tests.support.env import Database, TestEnv

ASK = "Which card was charged: the one ending 4417 or 0092?"


@pytest.fixture
async def loop(env: TestEnv, database: Database) -> AsyncIterator[Loop]:
    async with closure_loop(env, database) as running:
        yield running


async def write(
    loop: Loop, case: dict[str, Any], body: dict[str, Any], **headers: str
) -> httpx.Response:
    owner = {**loop.as_("owner", case["owner_id"]), **headers}
    return await loop.ownership.post(f"/v1/cases/{case['id']}/messages", json=body, headers=owner)


async def test_the_owner_asks_by_email_and_the_answer_joins_the_timeline(loop: Loop) -> None:
    case = await loop.complaint("email", EMAIL)
    key = {"Idempotency-Key": "ask-card-1"}
    sent = await write(loop, case, {"template": "need_information", "text": ASK}, **key)
    assert sent.status_code == 201, sent.text
    again = await write(loop, case, {"template": "need_information", "text": ASK}, **key)
    assert again.json()["message_id"] == sent.json()["message_id"]
    assert again.headers["Idempotent-Replayed"] == "true"

    envelope, mail = await loop.sink.next()
    assert envelope.rcpt_tos == [EMAIL]
    body = mail.get_content()
    assert ASK in body and "we need something from you" in body and case["reference"] in body
    assert "/c/" not in body  # it asks nothing that closes: no token, no link
    [entry] = await loop.entries(case["id"], "message_sent")
    assert entry["detail"]["text"] == ASK and entry["detail"]["template"] == "need_information"
    assert entry["actor"] == f"owner:{case['owner_id']}"

    answer = "The one ending 4417. It happened on 2 December."
    reply = {"from": EMAIL, "subject": f"Re: {mail['Subject']}", "text": answer}
    answered = await loop.mail(reply)
    assert answered.json()["verdict"] != "yes"
    [contact] = await loop.entries(case["id"], "contact_added")
    assert contact["detail"]["text"] == answer and contact["detail"]["via"] == "reply"
    assert (await loop.case(case["id"]))["status"] != "closed"
    await asyncio.sleep(0.5)
    assert loop.sink.messages.empty()  # the replayed request sent nothing more


async def test_a_chinese_complaint_is_written_to_in_chinese_by_sms(loop: Loop) -> None:
    case = await loop.complaint("sms", PHONE, language="zh-CN")
    sent = await write(loop, case, {"template": "delay"})
    assert sent.status_code == 201, sent.text
    text = await loop.gateway.next()
    assert "深表歉意" in text.body and case["reference"] in text.body


async def test_what_cannot_be_sent_is_refused_and_nothing_is_recorded(loop: Loop) -> None:
    case = await loop.complaint("email", EMAIL)
    for body in ({}, {"text": "   "}, {"template": "bribe"}, {"text": "x" * 2001}):
        refused = await write(loop, case, body)
        assert refused.status_code == 422, (body, refused.text)
    other = await loop.ownership.post(
        f"/v1/cases/{case['id']}/messages",
        json={"text": "hello"},
        headers=loop.as_("owner", "someone-else"),
    )
    assert other.status_code == 403
    by_phone = await loop.complaint("phone", "+14155552671")
    spoken = await write(loop, by_phone, {"text": "hello"})
    assert spoken.status_code == 409
    assert spoken.json()["error"]["code"] == "channel_carries_no_messages"
    await asyncio.sleep(0.5)
    timeline = await loop.timeline(case["id"]) + await loop.timeline(by_phone["id"])
    assert [e for e in timeline if e["kind"] == "message_sent"] == []
    assert loop.sink.messages.empty()


async def test_only_the_cases_owner_reads_the_customers_messages(loop: Loop) -> None:
    case = await loop.complaint("email", EMAIL)

    async def read(role: str, subject: str) -> httpx.Response:
        return await loop.confirmation.get(
            "/v1/confirmations",
            params={"complaint_id": case["id"]},
            headers=loop.as_(role, subject),
        )

    for _ in range(100):  # until confirmation has heard who owns the case
        if (await read("owner", case["owner_id"])).status_code == 200:
            break
        await asyncio.sleep(0.05)
    assert (await read("owner", case["owner_id"])).status_code == 200
    refused = await read("owner", "someone-else")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "not_case_owner"
    assert (await read("supervisor", "sam")).status_code == 200
    assert (await read("department", "finance")).status_code == 403
