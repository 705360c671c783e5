"""The customer's reply over SMTP decides: only their own, on a live token, clearly worded."""

import asyncio

from sqlalchemy import select

from services.confirmation.models import inbound_messages
from tests.support.confirmation import CUSTOMER, confirmation_service
from tests.support.env import Database, TestEnv

STRANGER = "mallory@example.net"
ZH_RESOLVED_THANKS = "已解决，谢谢"  # noqa: RUF001


async def test_yes_from_the_original_address_confirms(env: TestEnv, database: Database) -> None:
    async with confirmation_service(env, database) as h, env.probe("confirmation.#") as probe:
        complaint_id = await h.complaint()
        await h.propose(complaint_id)
        asked, token = await h.asked()
        await h.reply(asked, "Yes, thank you, it's resolved.", sender="ana.lima@EXAMPLE.COM")
        confirmed = await probe.wait_for("confirmation.confirmed", complaint_id)
        view = await h.confirmations(complaint_id)
    [request] = view["requests"]
    assert confirmed.data["request_id"] == request["id"]
    assert confirmed.data["channel"] == "email" and confirmed.data["attested"] is False
    assert confirmed.data["evidence"] == "Yes, thank you, it's resolved."
    assert confirmed.producer == "confirmation"
    assert request["status"] == "confirmed" and request["answer"] == "yes"
    [reply] = view["inbound"]
    assert reply["verdict"] == "yes" and reply["reason"] is None
    assert token not in reply["subject"] and "Complaints wrote" not in reply["text"]


async def test_reply_from_another_address_does_not_count(env: TestEnv, database: Database) -> None:
    async with confirmation_service(env, database) as h, env.probe("confirmation.#") as probe:
        complaint_id = await h.complaint()
        await h.propose(complaint_id)
        asked, _ = await h.asked()
        await h.reply(asked, "Yes", sender=STRANGER)
        # A forged From header does not help when the envelope sender is someone else.
        await h.reply(asked, "Yes", sender=CUSTOMER, envelope_sender=STRANGER)
        view = await h.confirmations(complaint_id)
        assert [m["reason"] for m in view["inbound"]] == ["sender_mismatch", "sender_mismatch"]
        assert view["inbound"][0]["sender"] == STRANGER
        assert view["requests"][0]["status"] == "pending"
        assert "confirmation.confirmed" not in await h.emitted(complaint_id)
        await h.reply(asked, "yes")  # the token is still the customer's to use
        await probe.wait_for("confirmation.confirmed", complaint_id)


async def test_unknown_token_does_not_count(env: TestEnv, database: Database) -> None:
    async with confirmation_service(env, database) as h:
        complaint_id = await h.complaint()
        await h.propose(complaint_id)
        asked, token = await h.asked()
        forged = str(asked["Subject"]).replace(token, "ABCDEFGHJKLMNP")
        await h.reply(asked, "Yes", subject=f"Re: {forged}")
        await h.reply(asked, "yes", subject="Re: resolved? [#AAAAAAAAAA]")
        async with h.app.state.engine.connect() as conn:
            rows = (await conn.execute(select(inbound_messages))).all()
        view = await h.confirmations(complaint_id)
    # The quoted original still carries the real token, but the subject's claim is what counts;
    # the reference they quote shows both refused replies to the complaint's owner.
    assert [(r.verdict, r.reason, r.complaint_id) for r in rows] == [
        ("rejected", "unknown_token", complaint_id),
        ("rejected", "unknown_token", complaint_id),
    ]
    assert [m["reason"] for m in view["inbound"]] == ["unknown_token", "unknown_token"]
    assert view["requests"][0]["status"] == "pending"


async def test_reply_naming_no_known_complaint_is_kept_unattributed(
    env: TestEnv, database: Database
) -> None:
    async with confirmation_service(env, database) as h:
        complaint_id = await h.complaint()
        await h.propose(complaint_id)
        asked, _ = await h.asked()
        await h.reply(asked, "yes", subject="Re: resolved? [ref CMP-ZZZZZZZZ #AAAAAAAAAA]")
        async with h.app.state.engine.connect() as conn:
            rows = (await conn.execute(select(inbound_messages))).all()
    assert [(r.reason, r.complaint_id) for r in rows] == [("unknown_token", None)]


async def test_no_rejects_and_the_token_is_then_used_up(env: TestEnv, database: Database) -> None:
    async with confirmation_service(env, database) as h, env.probe("confirmation.#") as probe:
        complaint_id = await h.complaint()
        await h.propose(complaint_id)
        asked, _ = await h.asked()
        await h.reply(asked, "No, it is not resolved. I still see the second charge.")
        rejected = await probe.wait_for("confirmation.rejected", complaint_id)
        await h.reply(asked, "Yes")
        view = await h.confirmations(complaint_id)
        emitted = await h.emitted(complaint_id)
    assert rejected.data["evidence"].startswith("No, it is not resolved.")
    assert view["requests"][0]["status"] == "rejected"
    assert [(m["verdict"], m["reason"]) for m in view["inbound"]] == [
        ("no", None),
        ("rejected", "token_used"),
    ]
    assert "confirmation.confirmed" not in emitted


async def test_unclear_reply_keeps_the_request_open(env: TestEnv, database: Database) -> None:
    async with confirmation_service(env, database) as h, env.probe("confirmation.#") as probe:
        complaint_id = await h.complaint()
        await h.propose(complaint_id)
        asked, _ = await h.asked()
        await h.reply(asked, "Maybe, I have to check my statement first")
        unclear = await probe.wait_for("confirmation.unclear", complaint_id)
        assert (await h.confirmations(complaint_id))["requests"][0]["status"] == "pending"
        await h.reply(asked, ZH_RESOLVED_THANKS)
        confirmed = await probe.wait_for("confirmation.confirmed", complaint_id)
    assert unclear.data["request_id"] == confirmed.data["request_id"]
    assert confirmed.data["evidence"] == ZH_RESOLVED_THANKS


async def test_automatic_reply_does_not_count(env: TestEnv, database: Database) -> None:
    async with confirmation_service(env, database) as h:
        complaint_id = await h.complaint()
        await h.propose(complaint_id)
        asked, _ = await h.asked()
        await h.reply(asked, "I am out of the office.", headers={"Auto-Submitted": "auto-replied"})
        view = await h.confirmations(complaint_id)
        assert view["inbound"][0]["reason"] == "auto_reply"
        assert view["requests"][0]["status"] == "pending"
        assert await h.emitted(complaint_id) == ["confirmation.requested"]


async def test_simultaneous_replies_with_one_token_have_one_winner(
    env: TestEnv, database: Database
) -> None:
    async with confirmation_service(env, database) as h:
        complaint_id = await h.complaint()
        await h.propose(complaint_id)
        asked, _ = await h.asked()
        await asyncio.gather(*(h.reply(asked, text) for text in ("Yes", "No", "Yes", "No")))
        view = await h.confirmations(complaint_id)
        emitted = await h.emitted(complaint_id)
    answers = [e for e in emitted if e in ("confirmation.confirmed", "confirmation.rejected")]
    assert len(answers) == 1
    reasons = sorted(str(m["reason"]) for m in view["inbound"])
    assert reasons == ["None", "token_used", "token_used", "token_used"]
    assert view["requests"][0]["status"] in ("confirmed", "rejected")
