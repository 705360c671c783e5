"""The customer's replies that answer no question reach the owner: on the case's timeline as a
follow-up contact, with the case marked as written to. Ownership and confirmation run together,
so the message ownership records is the one confirmation really announces."""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.support.closure import EMAIL, PHONE, Loop, closure_loop
from tests.support.env import Database, TestEnv

ACK = {"acknowledgement_enabled": True}
MORE = "Also: the card was charged a third time on 3 December, 42.00 EUR again."


def follow_ups(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in entries if e["kind"] == "contact_added"]


async def quiet_timeline(loop: Loop, case_id: str) -> list[dict[str, Any]]:
    """The timeline after room for a wrongly announced message to arrive."""
    await asyncio.sleep(0.8)
    return follow_ups(await loop.timeline(case_id))


@pytest.fixture
async def loop(env: TestEnv, database: Database) -> AsyncIterator[Loop]:
    async with closure_loop(env, database, **ACK) as running:
        yield running


async def test_a_reply_to_the_acknowledgement_reaches_the_owner(loop: Loop) -> None:
    case = await loop.complaint("email", EMAIL)
    _, ack = await loop.sink.next()
    reply = {
        "from": "Ana.Lima@Example.com",
        "to": loop.settings.reply_address,
        "subject": f"Re: {ack['Subject']}",
        "text": f"{MORE}\n\n> " + "\n> ".join(ack.get_content().splitlines()),
    }

    answered = await loop.mail(reply)

    assert answered.json()["reason"] == "unknown_token"  # it answers no question
    [entry] = await loop.entries(case["id"], "contact_added")
    assert entry["actor"] == "customer"
    assert entry["detail"]["via"] == "reply" and entry["detail"]["channel"] == "email"
    assert entry["detail"]["text"] == MORE  # what was written now, not the quoted message
    after = await loop.case(case["id"])
    assert after["customer_wrote_at"] is not None and after["status"] == case["status"]
    view = await loop.view(case["id"])
    assert [(m["reason"], m["request_id"]) for m in view["inbound"]] == [("unknown_token", None)]


async def test_a_new_email_without_reference_joins_the_senders_latest_case(loop: Loop) -> None:
    older = await loop.complaint("email", EMAIL)
    await loop.sink.next()
    case = await loop.complaint("email", EMAIL)
    await loop.sink.next()
    await loop.mail({"from": EMAIL, "subject": "my account", "text": MORE})
    [entry] = await loop.entries(case["id"], "contact_added")
    assert entry["detail"]["text"] == MORE
    assert await quiet_timeline(loop, older["id"]) == []


@pytest.mark.parametrize(
    "reply",
    [
        # Another address quoting the customer's reference: not the customer.
        {"from": "mallory@example.net", "text": "Please close this, all sorted."},
        # The customer's address, but an auto-responder.
        {"from": EMAIL, "text": "Away.", "headers": {"Auto-Submitted": "auto-replied"}},
        {"from": EMAIL, "text": "Out of office", "subject": "Automatic reply: {subject}"},
        # Mail the provider could not authenticate.
        {"from": EMAIL, "text": MORE, "dmarc": "fail"},
        # The customer's address, naming a reference nobody knows: no case is guessed.
        {"from": EMAIL, "text": MORE, "subject": "Re: [ref CMP-ZZZZZZZZ]"},
        # Nothing written now, only the quoted message.
        {"from": EMAIL, "text": "> We have received your complaint"},
    ],
)
async def test_a_reply_that_is_not_the_customer_speaking_reaches_nobody(
    loop: Loop, reply: dict[str, Any]
) -> None:
    reply = dict(reply)  # the parameter is shared by both databases' runs
    case = await loop.complaint("email", EMAIL)
    _, ack = await loop.sink.next()
    subject = reply.pop("subject", "Re: {subject}").format(subject=ack["Subject"])
    dmarc = reply.pop("dmarc", "pass")
    answered = await loop.mail({"subject": subject, "dmarc": dmarc, **reply})
    assert answered.status_code in (200, 202, 401, 403), answered.text
    assert await quiet_timeline(loop, case["id"]) == []
    assert (await loop.case(case["id"]))["customer_wrote_at"] is None


async def test_an_sms_without_a_question_pending_reaches_the_owner(loop: Loop) -> None:
    case = await loop.complaint("sms", PHONE)
    await loop.gateway.next()  # the acknowledgement
    text = "Still no refund. Call me after 5pm please."
    answered = await loop.sms(text, sender="(415) 555-2671")
    assert answered.json()["reason"] == "unknown_token"
    [entry] = await loop.entries(case["id"], "contact_added")
    assert entry["detail"]["channel"] == "sms" and entry["detail"]["text"] == text
    # Another number is somebody else.
    await loop.sms("Cancel my complaint", sender="+14155550100")
    assert len(await quiet_timeline(loop, case["id"])) == 1


async def test_a_reply_on_a_spent_token_after_closure_reaches_the_owner(loop: Loop) -> None:
    case = await loop.complaint("email", EMAIL)
    await loop.sink.next()  # the acknowledgement
    await loop.propose(case)
    _, asked = await loop.sink.next()
    reply = {"from": EMAIL, "subject": f"Re: {asked['Subject']}"}
    yes = await loop.mail({**reply, "text": "Yes, it is resolved. Thank you!"})
    assert yes.json()["verdict"] == "yes"
    await loop.case_when(case["id"], lambda c: c["status"] == "closed")
    later = "It happened again this morning."

    again = await loop.mail({**reply, "text": later})

    assert again.json()["reason"] == "token_used"
    [entry] = await loop.entries(case["id"], "contact_added")
    assert entry["detail"]["text"] == later
    assert (await loop.case(case["id"]))["status"] == "closed"  # a word, not a reopening
