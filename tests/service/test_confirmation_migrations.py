"""Upgrading a confirmation database that holds live tokens: sent messages lose theirs, and the
tokens customers already hold keep answering (their hashes were plain SHA-256)."""

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import cast

from alembic import command
from alembic.config import Config
from sqlalchemy import select, text

from services.confirmation import domain, reply_matching
from services.confirmation.models import outbound_messages
from shared.db import make_engine
from shared.uow import UnitOfWork
from tests.support.env import Database

MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "confirmation" / "migrations"
TOKEN = "K3J8PQ2ZLMW4XR"
QUEUED_TOKEN = "ABCDEFGHJKLMNP"


def migrate(url: str, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["database_url"] = url
    command.upgrade(config, revision)


REQUEST = text(
    "INSERT INTO confirmation_requests (id, complaint_id, owner_id, channel, contact, outcome,"
    " summary, proposal_no, status, token_hash, created_at) VALUES ('r1', 'c1', 'alice',"
    " 'email', 'ana@example.com', 'resolved', 'Refunded.', 1, 'pending', :hash, :now)"
)
MESSAGE = text(
    "INSERT INTO outbound_messages (id, request_id, complaint_id, channel, recipient, subject,"
    " body, message_id, correlation_id, status, attempts, next_attempt_at, created_at)"
    " VALUES (:id, 'r1', 'c1', 'email', 'ana@example.com', :subject, :body, '<m@x>', 'k',"
    " :status, 1, :now, :now)"
)


async def test_upgrade_scrubs_sent_messages_and_old_tokens_still_answer(database: Database) -> None:
    now = datetime.now(UTC)
    async with database("confirmation_migrations") as url:
        await asyncio.to_thread(migrate, url, "0003")
        engine = make_engine(url)
        try:
            async with engine.begin() as conn:
                await conn.execute(REQUEST, {"hash": domain.legacy_hash(TOKEN), "now": now})
                for id_, token, status in (("m1", TOKEN, "sent"), ("m2", QUEUED_TOKEN, "queued")):
                    subject = f"Is it resolved? [ref CMP-1 #{token}]"
                    body = f"Reply keeping the subject #{token}."
                    await conn.execute(
                        MESSAGE,
                        {"id": id_, "subject": subject, "body": body, "status": status, "now": now},
                    )
            await asyncio.to_thread(migrate, url, "head")
            async with engine.connect() as conn:
                rows = {r.id: r for r in (await conn.execute(select(outbound_messages))).all()}
                found, _ = await reply_matching._request_with_token(
                    cast(UnitOfWork, SimpleNamespace(conn=conn)), TOKEN, "any-secret"
                )
                forged_plain = await conn.scalar(
                    text("SELECT COUNT(*) FROM confirmation_requests WHERE legacy_hash")
                )
        finally:
            await engine.dispose()
    assert TOKEN not in rows["m1"].subject + rows["m1"].body
    assert rows["m1"].subject == "Is it resolved? [ref CMP-1 #\u2026]"
    assert QUEUED_TOKEN in rows["m2"].subject  # still to be sent: it keeps what it must carry
    assert found is not None and found.id == "r1" and forged_plain == 1
