"""SMS: the question goes out through the gateway; only the customer's signed reply counts."""

import asyncio

from tests.support.closure import PHONE, closure_loop
from tests.support.env import Database, TestEnv


async def test_sms_yes_from_the_customers_number_closes_the_case(
    env: TestEnv, database: Database
) -> None:
    async with closure_loop(env, database) as loop, env.probe("confirmation.#") as probe:
        case = await loop.complaint("sms", PHONE)
        await loop.propose(case)
        sms = await loop.gateway.next()
        code = sms.body.split("#")[1][:6]
        await probe.wait_for("confirmation.requested", case["id"])
        # The same number written as a person would: it is compared in E.164.
        answered = await loop.sms(f"yes #{code}", sender="+1 (415) 555-2671")
        closed = await loop.case_when(case["id"], lambda c: c["status"] == "closed")
        confirmed = await probe.wait_for("confirmation.confirmed", case["id"])
    assert sms.to == PHONE and sms.sender == loop.settings.sms_from
    assert "Is it resolved?" in sms.body and "42.00 EUR" in sms.body
    assert answered.status_code == 200 and answered.json()["verdict"] == "yes"
    assert closed["outcome"] == "resolved"
    assert confirmed.data["channel"] == "sms" and confirmed.data["attested"] is False


async def test_sms_no_reopens_and_an_unclear_text_goes_back_to_the_owner(
    env: TestEnv, database: Database
) -> None:
    async with closure_loop(env, database) as loop:
        case = await loop.complaint("sms", PHONE)
        await loop.propose(case)
        code = await loop.sms_code()
        rejected = await loop.sms(f"No #{code}, still not received")
        reopened = await loop.case_when(case["id"], lambda c: c["status"] == "reopened")
        await loop.propose(reopened)
        await loop.sms_code()
        # A bare answer without the code still names its request: the number has one pending.
        unclear = await loop.sms("maybe, not sure yet")
        [entry] = await loop.entries(case["id"], "confirmation_unclear")
        assert (await loop.case(case["id"]))["status"] == "resolution_proposed"
    assert rejected.json()["verdict"] == "no" and reopened["owner_id"] == case["owner_id"]
    assert unclear.json()["verdict"] == "unclear"
    assert entry["detail"]["evidence"] == "maybe, not sure yet"
    assert entry["detail"]["follow_up"] == case["owner_id"]


async def test_sms_spoofing_leaves_the_case_open_with_a_reason(
    env: TestEnv, database: Database
) -> None:
    async with closure_loop(env, database, webhook_max_age_seconds=300) as loop:
        case = await loop.complaint("sms", PHONE)
        await loop.propose(case)
        code = await loop.sms_code()
        stale = str(int(loop.clock().timestamp()) - 301)
        attempts = {
            "wrong_sender": await loop.sms(f"YES #{code}", sender="+14155550000"),
            "unsigned": await loop.sms(
                f"YES #{code}", headers={"X-Signature": "", "X-Timestamp": ""}
            ),
            "bad_signature": await loop.sms(f"YES #{code}", secret="not-the-secret"),
            "stale": await loop.sms(f"YES #{code}", timestamp=stale),
            "unknown_code": await loop.sms("YES #ZZZZZZ"),
        }
        # A valid call that did not close (an unclear text), captured and sent again.
        stamp = str(int(loop.clock().timestamp()))
        first = await loop.sms(f"not sure #{code}", timestamp=stamp)
        replay = await loop.sms(f"not sure #{code}", timestamp=stamp)
        view = await loop.view_when(case["id"], lambda v: len(v["inbound"]) >= 6)
        await asyncio.sleep(0.3)  # room for a wrongly emitted confirmation to close the case
        assert (await loop.case(case["id"]))["status"] == "resolution_proposed"
    assert attempts["wrong_sender"].json()["reason"] == "sender_mismatch"
    assert attempts["unsigned"].json()["error"]["code"] == "missing_signature"
    assert attempts["bad_signature"].json()["error"]["code"] == "bad_signature"
    assert attempts["stale"].json()["error"]["code"] == "stale_timestamp"
    assert attempts["unknown_code"].json()["reason"] == "unknown_token"
    assert first.json()["verdict"] == "unclear"
    assert replay.status_code == 401 and replay.json()["error"]["code"] == "replayed"
    reasons = [m["reason"] for m in view["inbound"]]
    for reason in ("sender_mismatch", "missing_signature", "bad_signature", "stale_timestamp"):
        assert reason in reasons
    assert "replayed" in reasons


async def test_cannot_fulfil_is_acknowledged_by_sms_and_closes_as_cannot_fulfil(
    env: TestEnv, database: Database
) -> None:
    async with closure_loop(env, database) as loop:
        case = await loop.complaint("sms", PHONE)
        await loop.propose(case, outcome="cannot_fulfil")
        sms = await loop.gateway.next()
        answered = await loop.sms("收到")
        closed = await loop.case_when(case["id"], lambda c: c["status"] == "closed")
    assert "cannot do what you asked" in sms.body and "acknowledge" in sms.body
    assert answered.json()["verdict"] == "yes"
    assert closed["outcome"] == "cannot_fulfil"
