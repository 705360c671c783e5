"""Bulk statements of the read model: the same results on PostgreSQL (arrays) and SQLite."""

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.analytics import bulk_statements
from services.analytics.models import fact_events, kpi_rollup, streams
from shared.db import make_engine, upgrade_database_async
from tests.support.env import Database

MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "analytics" / "migrations"
T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)


@pytest.fixture
async def engine(database: Database) -> AsyncIterator[AsyncEngine]:
    async with database("analytics_bulk") as url:
        await upgrade_database_async(MIGRATIONS, url)
        engine = make_engine(url)
        try:
            yield engine
        finally:
            await engine.dispose()


def event(n: int, stream: str, **attributes: object) -> dict[str, object]:
    return {
        "event_id": f"e-{n:05d}",
        "complaint_id": stream.split(":")[1],
        "stream": stream,
        "type": "complaint.received",
        "occurred_at": T0 + timedelta(minutes=n),
        "attributes": {"n": n, **attributes},
    }


def rollup_row(key: str, received: int, blob: bytes) -> dict[str, object]:
    counts = {name: 0 for name in kpi_rollup.c.keys()[4:-2]}
    return {
        "dimension": "owner",
        "grain": "d",
        "period": date(2026, 3, 1),
        "key": key,
        **counts,
        "received": received,
        "to_yes": blob,
        "gap": b"",
    }


async def test_insert_leaves_or_updates_existing_rows_and_keeps_every_type(
    engine: AsyncEngine,
) -> None:
    async with engine.begin() as conn:
        await bulk_statements.insert(
            conn, fact_events, [event(1, "complaint:a", region='N, "x" {y}')]
        )
        # The same key again: kept as it was; a new key: added.
        await bulk_statements.insert(
            conn, fact_events, [event(1, "complaint:b"), event(2, "complaint:a")]
        )
        await bulk_statements.insert(conn, kpi_rollup, [rollup_row("o'1", 1, b"\x00\x01\xff")])
        await bulk_statements.insert(
            conn, kpi_rollup, [rollup_row("o'1", 5, b"\x02"), rollup_row("", 2, b"")], "update"
        )
    async with engine.connect() as conn:
        rows = await bulk_statements.select_in(
            conn,
            [fact_events.c.event_id, fact_events.c.stream, fact_events.c.attributes],
            fact_events.c.event_id,
            ["e-00001", "e-00002", "e-09999"],
        )
        rollup = (
            await conn.execute(
                select(kpi_rollup.c.key, kpi_rollup.c.received, kpi_rollup.c.to_yes).order_by(
                    kpi_rollup.c.key
                )
            )
        ).all()
    assert sorted(rows) == [
        ("e-00001", "complaint:a", {"n": 1, "region": 'N, "x" {y}'}),
        ("e-00002", "complaint:a", {"n": 2}),
    ]
    assert [tuple(r) for r in rollup] == [("", 2, b""), ("o'1", 5, b"\x02")]


async def test_select_and_delete_take_any_number_of_keys(engine: AsyncEngine) -> None:
    events = [event(n, f"complaint:c{n % 1200}") for n in range(2500)]
    async with engine.begin() as conn:
        await bulk_statements.insert(conn, fact_events, events)
    wanted = [f"complaint:c{n}" for n in range(0, 1200, 2)] + ["complaint:none"]
    async with engine.begin() as conn:
        found = await bulk_statements.select_in(
            conn, [fact_events.c.event_id], fact_events.c.stream, wanted
        )
        assert len(found) == sum(1 for e in events if e["stream"] in wanted) > bulk_statements.CHUNK
        await bulk_statements.delete_in(conn, fact_events, fact_events.c.stream, wanted)
    async with engine.connect() as conn:
        left = await conn.scalars(select(fact_events.c.stream).distinct())
        assert sorted(left) == sorted({str(e["stream"]) for e in events} - set(wanted))
        assert (
            await bulk_statements.select_in(
                conn, [fact_events.c.event_id], fact_events.c.stream, []
            )
            == []
        )


async def test_bulk_statements_belong_to_the_callers_transaction(engine: AsyncEngine) -> None:
    # A bulk statement first in a transaction still rolls back with it.
    async with engine.connect() as conn:
        async with conn.begin() as transaction:
            await bulk_statements.insert(
                conn, streams, [{"stream": "complaint:x", "updated_at": T0}]
            )
            await bulk_statements.delete_in(
                conn, fact_events, fact_events.c.stream, ["complaint:x"]
            )
            await transaction.rollback()
        assert (
            await bulk_statements.select_in(
                conn, [streams.c.stream], streams.c.stream, ["complaint:x"]
            )
            == []
        )


async def test_array_lookups_are_planned_for_their_arrays(
    engine: AsyncEngine, backend: str
) -> None:
    if backend != "postgresql":
        pytest.skip("plans are PostgreSQL's")
    async with engine.begin() as conn:
        await bulk_statements.plan_each_time(conn)
        assert await conn.scalar(text("SHOW plan_cache_mode")) == "force_custom_plan"
    async with engine.connect() as conn:  # only for that transaction
        assert await conn.scalar(text("SHOW plan_cache_mode")) == "auto"


async def test_among_filters_an_update_by_any_number_of_keys(engine: AsyncEngine) -> None:
    names = [f"complaint:k{n}" for n in range(1500)]
    later = T0 + timedelta(days=1)
    async with engine.begin() as conn:
        await bulk_statements.insert(
            conn, streams, [{"stream": n, "updated_at": T0} for n in names]
        )
        for chunk in bulk_statements.chunks(conn, names[::3]):
            await conn.execute(
                streams.update()
                .where(bulk_statements.among(conn, streams.c.stream, chunk))
                .values(updated_at=later)
            )
    async with engine.connect() as conn:
        touched = await conn.scalars(select(streams.c.stream).where(streams.c.updated_at > T0))
        assert sorted(touched) == sorted(names[::3])
