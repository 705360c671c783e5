"""Upgrades of an existing analytics database keep what ingest relies on."""

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import select

from services.analytics.models import fact_events, streams
from shared.db import make_engine
from tests.support.env import Database

MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "analytics" / "migrations"


def migrate(url: str, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["database_url"] = url
    command.upgrade(config, revision)


async def test_streams_archived_without_a_row_get_one(database: Database) -> None:
    # Ingest skips reading the history of a stream that has no row: archives from before the
    # streams table must have one after the upgrade.
    async with database("analytics_migrations") as url:
        await asyncio.to_thread(migrate, url, "0006")
        engine = make_engine(url)
        try:
            async with engine.begin() as conn:
                await conn.execute(
                    streams.insert(),
                    [{"stream": "complaint:a", "updated_at": datetime.now(UTC), "token": 5}],
                )
                await conn.execute(
                    fact_events.insert(),
                    [
                        {
                            "event_id": f"e{n}",
                            "complaint_id": name,
                            "stream": f"complaint:{name}",
                            "type": "complaint.received",
                            "occurred_at": datetime.now(UTC),
                            "attributes": {},
                        }
                        for n, name in enumerate(["a", "b", "b", "c"])
                    ],
                )
            await asyncio.to_thread(migrate, url, "head")
            async with engine.connect() as conn:
                rows = (await conn.execute(select(streams.c.stream, streams.c.token))).all()
            assert sorted(rows) == [
                ("complaint:a", 5),
                ("complaint:b", None),
                ("complaint:c", None),
            ]
        finally:
            await engine.dispose()
