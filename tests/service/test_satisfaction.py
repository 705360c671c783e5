"""After the customer's yes, one question on the same channel: how did we do? The answer joins
the case's timeline; nothing about it touches the closure. Ownership and confirmation run
together on the real broker, with real SMTP and the SMS gateway stand-in."""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.support.closure import EMAIL, PHONE, Loop, closure_loop
from tests.support.env import Database, TestEnv


@pytest.fixture
async def loop(env: TestEnv, database: Database) -> AsyncIterator[Loop]:
    async with closure_loop(env, database, survey_enabled=True) as running:
        yield running


async def closed_by_email(loop: Loop) -> tuple[dict[str, Any], Any]:
    """A case closed by the customer's emailed yes, and the survey mail that followed."""
    case = await loop.complaint("email", EMAIL)
    await loop.propose(case)
    _, asked = await loop.sink.next()
    reply = {"from": EMAIL, "subject": f"Re: {asked['Subject']}", "text": "Yes, resolved."}
    assert (await loop.mail(reply)).json()["verdict"] == "yes"
    await loop.case_when(case["id"], lambda c: c["status"] == "closed")
    _, survey = await loop.sink.next()
    assert "How did we do" in survey["Subject"] and "/c/" not in survey.get_content()
    return case, survey


async def answer(loop: Loop, survey: Any, text: str, sender: str = EMAIL) -> None:
    await loop.mail({"from": sender, "subject": f"Re: {survey['Subject']}", "text": text})


async def test_the_answer_by_email_joins_the_timeline_once(loop: Loop) -> None:
    case, survey = await closed_by_email(loop)
    await answer(loop, survey, "4 - quick once the right person had it")
    [rated] = await loop.entries(case["id"], "satisfaction_given")
    assert rated["detail"]["score"] == 4 and rated["actor"] == "customer"
    assert rated["detail"]["comment"] == "quick once the right person had it"
    # A second score is not a second answer: it is the customer's word, for the owner to read.
    await answer(loop, survey, "1")
    [later] = await loop.entries(case["id"], "contact_added")
    assert later["detail"]["text"] == "1"
    assert (
        len([e for e in await loop.timeline(case["id"]) if e["kind"] == "satisfaction_given"]) == 1
    )
    after = await loop.case(case["id"])
    assert after["status"] == "closed" and after["reopen_count"] == 0
    await asyncio.sleep(0.5)
    assert loop.sink.messages.empty()  # asked once


async def test_what_is_no_answer_is_not_taken_for_one(loop: Loop) -> None:
    case, survey = await closed_by_email(loop)
    for text, sender in [
        ("3 times I called and nobody answered.", EMAIL),  # a number, not a score
        ("10/10", EMAIL),
        ("5", "mallory@example.net"),  # not the customer
        ("It broke again this morning.", EMAIL),
    ]:
        await answer(loop, survey, text, sender)
    await asyncio.sleep(0.8)
    timeline = await loop.timeline(case["id"])
    assert [e for e in timeline if e["kind"] == "satisfaction_given"] == []
    # The customer's own words reach the owner; the stranger's do not.
    words = [e["detail"]["text"] for e in timeline if e["kind"] == "contact_added"]
    assert sorted(words) == sorted(
        ["3 times I called and nobody answered.", "10/10", "It broke again this morning."]
    )
    assert (await loop.case(case["id"]))["status"] == "closed"


async def test_an_sms_yes_is_asked_by_sms_and_the_score_is_kept(loop: Loop) -> None:
    case = await loop.complaint("sms", PHONE)
    await loop.propose(case)
    code = await loop.sms_code()
    await loop.sms(f"YES #{code}", sender=PHONE)
    await loop.case_when(case["id"], lambda c: c["status"] == "closed")
    survey = await loop.gateway.next()
    assert "1 (poor) to 5 (excellent)" in survey.body and "#" not in survey.body
    await loop.sms("\uff15\uff01", sender=PHONE)  # a full-width five, as phones in China send
    [rated] = await loop.entries(case["id"], "satisfaction_given")
    assert rated["detail"]["score"] == 5 and rated["detail"]["channel"] == "sms"


async def test_no_question_after_an_attested_yes(loop: Loop) -> None:
    """The owner recorded the yes: the customer did not say it on the channel we would ask on."""
    case = await loop.complaint("email", EMAIL)
    await loop.propose(case)
    _, asked = await loop.sink.next()
    unsure = {"from": EMAIL, "subject": f"Re: {asked['Subject']}", "text": "Maybe, not sure yet."}
    assert (await loop.mail(unsure)).json()["verdict"] == "unclear"
    view = await loop.view_when(case["id"], lambda v: bool(v.get("requests")))
    attested = await loop.confirmation.post(
        f"/v1/confirmations/{view['requests'][0]['id']}/attestations",
        json={
            "answer": "yes",
            "evidence_type": "message_id",
            "evidence_ref": "<r9@mail.example.com>",
            "customer_words": "Yes, that is sorted, thanks.",
        },
        headers=loop.as_("owner", case["owner_id"]),
    )
    assert attested.status_code == 201, attested.text
    await loop.case_when(case["id"], lambda c: c["status"] == "closed")
    await asyncio.sleep(0.8)
    assert loop.sink.messages.empty()
