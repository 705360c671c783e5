"""The closure gate across services: intake's event in, ownership and confirmation in-process.

Harness shared with test_channels_*.py, test_audits.py and test_confirmation_reminders.py:
ownership (the case) and confirmation (the gate) run on the test exchange; the customer's SMS
gateway and mailbox are real servers on loopback; confirmation's clock is a fake that tests
move forward instead of sleeping.
"""

from services.confirmation import webhooks
from tests.support.closure import (
    EMAIL,
    MAIL_TOKEN,
    _link,
    closure_loop,
)
from tests.support.env import Database, TestEnv


async def test_signed_inbound_mail_yes_closes_the_case(env: TestEnv, database: Database) -> None:
    async with closure_loop(env, database) as loop:
        case = await loop.complaint("email", EMAIL)
        await loop.propose(case)
        _, asked = await loop.sink.next()
        token = MAIL_TOKEN.search(str(asked["Subject"]))
        assert token
        reply = {
            "from": "Ana.Lima@Example.com",
            "to": loop.settings.reply_address,
            "subject": f"Re: {asked['Subject']}",
            "text": "Yes, thanks, all sorted.\n\n> Is your complaint resolved?",
            "message_id": "<r1@example.com>",
        }
        answered = await loop.mail(reply)
        closed = await loop.case_when(case["id"], lambda c: c["status"] == "closed")
    assert answered.status_code == 200 and answered.json()["verdict"] == "yes"
    assert closed["outcome"] == "resolved"


async def test_inbound_mail_refuses_strangers_bad_signatures_and_other_channels_tokens(
    env: TestEnv, database: Database
) -> None:
    async with closure_loop(env, database) as loop:
        case = await loop.complaint("email", EMAIL)
        web_case = await loop.complaint("web", "web.customer@example.com")
        await loop.propose(case)
        await loop.propose(web_case)
        _, asked = await loop.sink.next()
        subject = f"Re: {asked['Subject']}"
        link = await _link(loop, web_case["id"])
        web_token = link.rsplit("/", 1)[1]
        base = {"to": "confirm@x", "subject": subject, "text": "Yes"}
        stranger = await loop.mail({**base, "from": "mallory@example.com"})
        unsigned = await loop.mail(
            {**base, "from": EMAIL},
            headers={webhooks.SIGNATURE_HEADER: "", webhooks.TIMESTAMP_HEADER: ""},
        )
        forged = await loop.mail({**base, "from": EMAIL}, headers={"X-Signature": "ab" * 32})
        other_channel = await loop.mail(
            {"from": "web.customer@example.com", "subject": f"Re: #{web_token}", "text": "Yes"}
        )
        automatic = await loop.mail({**base, "from": EMAIL, "auto_submitted": "auto-replied"})
        view = await loop.view_when(case["id"], lambda v: len(v["inbound"]) >= 4)
        web_view = await loop.view(web_case["id"])
        assert (await loop.case(case["id"]))["status"] == "resolution_proposed"
        assert (await loop.case(web_case["id"]))["status"] == "resolution_proposed"
    assert stranger.status_code == 200 and stranger.json()["reason"] == "sender_mismatch"
    assert unsigned.status_code == 401
    assert unsigned.json()["error"]["code"] == "missing_signature"
    assert forged.status_code == 401 and forged.json()["error"]["code"] == "bad_signature"
    assert other_channel.json()["reason"] == "wrong_channel"
    assert automatic.json()["reason"] == "auto_reply"
    reasons = {m["reason"] for m in view["inbound"]}
    assert {"sender_mismatch", "missing_signature", "bad_signature", "auto_reply"} <= reasons
    assert [m["reason"] for m in web_view["inbound"]] == ["wrong_channel"]
