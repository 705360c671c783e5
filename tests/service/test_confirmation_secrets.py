"""Secrets stay secret: once a question is sent its token is in no row of confirmation's
database (only a keyed hash of it), and the token the customer holds still answers."""

from typing import Any

from sqlalchemy import select

from services.confirmation import domain
from services.confirmation.models import metadata
from tests.service.test_channels_web import path_of
from tests.support.closure import (
    EMAIL,
    MAIL_TOKEN,
    PHONE,
    Loop,
    _link,
    closure_loop,
)
from tests.support.env import Database, TestEnv
from tests.support.services import app_of


async def every_row(loop: Loop) -> str:
    """All of confirmation's tables, every column, as one text to search."""
    app = app_of(loop.confirmation)
    dumped = []
    async with app.state.engine.connect() as conn:
        for table in metadata.sorted_tables:
            for row in (await conn.execute(select(table))).all():
                dumped.append(" ".join(str(value) for value in row))
    return "\n".join(dumped).upper()


async def all_sent(loop: Loop, *case_ids: str) -> None:
    for case_id in case_ids:
        await loop.view_when(
            case_id, lambda v: bool(v["outbound"]) and v["outbound"][0]["status"] == "sent"
        )


async def test_no_table_holds_a_sent_token_and_each_token_still_answers(
    env: TestEnv, database: Database
) -> None:
    async with closure_loop(env, database) as loop:
        mail_case = await loop.complaint("email", EMAIL)
        sms_case = await loop.complaint("sms", PHONE)
        web_case = await loop.complaint("web", "web.customer@example.com")
        for case in (mail_case, sms_case, web_case):
            await loop.propose(case)
        _, asked = await loop.sink.next()
        mail_token = MAIL_TOKEN.search(str(asked["Subject"]))
        assert mail_token
        sms_code = await loop.sms_code()
        web_token = (await _link(loop, web_case["id"])).rsplit("/", 1)[1]
        await all_sent(loop, mail_case["id"], sms_case["id"], web_case["id"])
        stored = await every_row(loop)
        shown = await loop.view(mail_case["id"])
        reply: dict[str, Any] = {
            "from": EMAIL,
            "to": loop.settings.reply_address,
            "subject": f"Re: {asked['Subject']}",
            "text": "Yes, it is resolved.",
        }
        by_mail = await loop.mail(reply)
        by_sms = await loop.sms(f"YES #{sms_code}")
        by_page = await loop.confirmation.post(
            path_of(f"https://complaints.example/c/{web_token}"), data={"answer": "yes"}
        )
        for case in (mail_case, sms_case, web_case):
            await loop.case_when(case["id"], lambda c: c["status"] == "closed")
        after = await every_row(loop)
    for token in (mail_token.group(1), sms_code, web_token):
        assert token.upper() not in stored and token.upper() not in after
        assert domain.legacy_hash(token) not in stored  # the hash is keyed, not plain SHA-256
    [sent] = shown["outbound"]
    assert sent["subject"].endswith("#\u2026]") and mail_token.group(1) not in str(shown)
    assert by_mail.json()["verdict"] == "yes" and by_sms.json()["verdict"] == "yes"
    assert by_page.status_code == 200
