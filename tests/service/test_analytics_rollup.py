"""The KPI rollup: kept equal to its facts under any arrival order, and read like the facts."""

import random
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.analytics.kpi import rollup
from services.analytics.kpi.by_group import grouped_kpis
from services.analytics.kpi.queries import exact_durations, raw_counts
from services.analytics.kpi.rules import GROUP_COLUMNS, Tally
from services.analytics.models import ROLLUP_COUNTS, complaint_facts, kpi_rollup
from services.analytics.projection.ingest import ingest
from shared.db import make_engine, upgrade_database_async
from shared.events import Envelope
from shared.timestamps import as_utc
from tests.service.test_analytics_kpis import BY_CHANNEL, TOTALS, Case, kpis, loaded
from tests.support.analytics import T0, at, started
from tests.support.env import Database, TestEnv

MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "analytics" / "migrations"
DURATIONS: tuple[str, ...] = ("median_hours_to_confirmation", "p90_hours_to_confirmation")
DURATIONS += ("median_hours_claimed_to_confirmed",)


def close_to(exact: dict[str, Any], sketched: dict[str, Any]) -> bool:
    """Equal counts and ratios; durations within the histograms' 1% (plus the rounding)."""
    for name, value in exact.items():
        if name in DURATIONS and value is not None:
            if sketched[name] is None or abs(sketched[name] - value) > 0.01 * value + 0.01:
                return False
        elif sketched[name] != value:
            return False
    return True


async def test_kpis_from_the_rollup_histograms_match_the_hand_computed_ones(
    env: TestEnv, database: Database
) -> None:
    async with started(env, database, bus_prefetch=1, kpi_exact_limit=0) as client:
        await loaded(client, env)
        report = await kpis(client, "channel")
    assert close_to(TOTALS, report["totals"])
    assert [g["key"] for g in report["groups"]] == [g["key"] for g in BY_CHANNEL]
    for exact, sketched in zip(BY_CHANNEL, report["groups"], strict=True):
        assert close_to(exact, sketched), (exact, sketched)
    assert report["exact_percentiles"] is False
    # The histograms do not give the exact figures, only close ones.
    assert (
        report["totals"]["median_hours_to_confirmation"] != TOTALS["median_hours_to_confirmation"]
    )


def random_cases(rng: random.Random, count: int) -> list[Envelope]:
    """Complaints over ten weeks around a month end, with every kind of lifecycle event."""
    events: list[Envelope] = []
    for n in range(count):
        case = Case(rng.choice(["email", "sms", "phone", "web"]), rng.choice(["billing", "card"]))
        t = rng.uniform(-24 * 60, 24 * 10)
        owner = f"o-{rng.randrange(4)}"
        events += [case.received(t, region=rng.choice(["N", "S", None]))]
        events += [case.prioritized(t + 0.1, rng.choice(["P1", "P2", "P3"]))]
        events += [case.assigned_due(t + 0.2, owner, t + rng.choice([8, 30, 90]))]
        if rng.random() < 0.4:
            department, task_id = rng.choice(["it", "field"]), f"T{n}-{case.id}"
            events += [case.task(t + 1, task_id, department, t + 10)]
            events += [case.task_done(t + rng.uniform(2, 20), task_id, department, t + 10)]
        if rng.random() < 0.2:
            continue  # no proposal yet
        hours = t + rng.uniform(1, 60)
        events += [case.proposal(hours, 1, rng.choice(["resolved", "resolved", "cannot_fulfil"]))]
        if rng.random() < 0.3:
            events += [case.answer("rejected", hours + 2), case.reopen(hours + 2.1)]
            hours += 20
            events += [case.proposal(hours, 2)]
        if rng.random() < 0.2:
            continue  # waiting for the customer
        yes = hours + rng.uniform(0.5, 40)
        events += [case.answer("confirmed", yes), case.closure(yes)]
        if rng.random() < 0.3:
            events += [case.audited(yes + 5, rng.choice(["passed", "failed"]))]
    return events


async def rollup_rows(conn: Any) -> list[tuple[Any, ...]]:
    rows = await conn.execute(select(kpi_rollup).order_by(*kpi_rollup.primary_key.columns))
    return [tuple(r) for r in rows]


@pytest.fixture
async def engine(database: Database) -> AsyncIterator[AsyncEngine]:
    async with database("analytics_rollup") as url:
        await upgrade_database_async(MIGRATIONS, url)
        engine = make_engine(url)
        try:
            yield engine
        finally:
            await engine.dispose()


async def test_incremental_rollup_equals_a_recomputation_whatever_the_order(
    engine: AsyncEngine,
) -> None:
    rng = random.Random(11)
    events = random_cases(rng, 120)
    rng.shuffle(events)
    events += rng.sample(events, 60)  # redeliveries
    position = 0
    while position < len(events):  # batches of every size, one event to a hundred
        size = rng.choice([1, 1, 7, 40, 100])
        async with engine.begin() as conn:
            await ingest(conn, events[position : position + size])
        position += size
    async with engine.connect() as conn:
        incremental = await rollup_rows(conn)
    await rollup.recompute(engine)
    async with engine.connect() as conn:
        assert await rollup_rows(conn) == incremental
    assert len(incremental) > 100
    # At start, a rollup that misses complaints (an upgraded database) is recomputed.
    assert not await rollup.ensure(engine)
    async with engine.begin() as conn:
        await conn.execute(kpi_rollup.delete().where(kpi_rollup.c.period < T0.date()))
    assert await rollup.ensure(engine)
    async with engine.connect() as conn:
        assert await rollup_rows(conn) == incremental


async def test_grouped_kpis_equal_the_facts_for_any_period_and_grouping(
    engine: AsyncEngine,
) -> None:
    rng = random.Random(12)
    async with engine.begin() as conn:
        await ingest(conn, random_cases(rng, 150))
    periods: list[tuple[Any, Any]] = [(None, None), (at(-24 * 45), None), (None, at(24 * 3))]
    for _ in range(8):  # instants anywhere: partial days, whole days and whole months
        start = at(rng.uniform(-24 * 70, 0))
        periods.append((start, start + timedelta(hours=rng.uniform(1, 24 * 80))))
    # The backlog's 30 days as of mid-morning, and as of a month's first midnight (its 7-30
    # days bucket read as the month's row minus the month's other days, no partial day).
    for as_of in (T0 + timedelta(days=2), at(-33)):
        async with engine.connect() as conn:
            for start, end in periods:
                for group_by, column in GROUP_COLUMNS.items():
                    await check_period(conn, group_by, column, start, end, as_of)


async def backlog_by_hand(conn: Any, column: str, *period: Any) -> dict[Any, list[int]]:
    start, end, as_of = period
    c = complaint_facts.c
    query = select(c[column], c.received_at).where(c.closed_at.is_(None))
    buckets: dict[Any, list[int]] = {}
    for key, received in await conn.execute(query):
        received = as_utc(received)
        if (start and received < start) or (end and received >= end) or received >= as_of:
            continue
        age = (as_of - received).total_seconds() / 86400
        bucket = next((i for i, days in enumerate((1, 3, 7, 30)) if age <= days), 4)
        buckets.setdefault(key, [0] * 5)[bucket] += 1
    return buckets


async def check_period(conn: Any, group_by: str, column: str, *period: Any) -> None:
    start, end, as_of = period
    tallies, times, total, exact = await grouped_kpis(conn, group_by, start, end, as_of, 10**9)
    assert exact
    facts = await raw_counts(conn, column, [(start or at(-(10**5)), end or at(10**5))])
    backlogs = await backlog_by_hand(conn, column, start, end, as_of)
    assert set(tallies) == set(facts), (group_by, start, end)
    for key, values in facts.items():
        named = dict(zip(ROLLUP_COUNTS, values, strict=True))
        tally = tallies[key]
        expected = {k: v for k, v in named.items() if k in Tally.__dataclass_fields__}
        assert {k: getattr(tally, k) for k in expected} == expected, (group_by, key, start, end)
        backlog = [tally.under_1d, tally.b1d_to_3d, tally.b3d_to_7d, tally.b7d_to_30d]
        assert [*backlog, tally.over_30d] == backlogs.get(key, [0] * 5), (group_by, key)
    assert (times, total) == await exact_durations(conn, column, start, end)
    sketched, sketched_total, exact = (await grouped_kpis(conn, group_by, start, end, as_of, 0))[1:]
    assert not exact or sketched_total.median_hours_to_confirmation is None
    for name in DURATIONS:
        exact_value = getattr(total, name)
        value = getattr(sketched_total, name)
        assert (exact_value is None) == (value is None)
        if exact_value is not None:
            assert abs(value - exact_value) <= 0.01 * exact_value + 0.01, (group_by, name)
    assert set(sketched) == set(times)
