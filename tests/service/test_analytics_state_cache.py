"""The complaints a process keeps after writing them: used only while nobody else wrote since."""

import gc
import random
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.analytics.models import EXPORTABLE, kpi_rollup
from services.analytics.projection import ingest as ingest_module
from services.analytics.projection.ingest import ingest, rebuild
from services.analytics.projection.state_cache import StateCache
from shared.db import make_engine, upgrade_database_async
from shared.events import Envelope
from tests.service.test_analytics_rollup import random_cases
from tests.support.env import Database, TestEnv

MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "analytics" / "migrations"
TABLES = [*EXPORTABLE.values(), kpi_rollup]

# `async with engines("name") as engine`: a migrated analytics database of that name.
Engines = Callable[[str], AbstractAsyncContextManager[AsyncEngine]]


@pytest.fixture
def engines(database: Database) -> Engines:
    @asynccontextmanager
    async def make(name: str) -> AsyncIterator[AsyncEngine]:
        async with database(name) as url:
            await upgrade_database_async(MIGRATIONS, url)
            engine = make_engine(url)
            try:
                yield engine
            finally:
                await engine.dispose()

    return make


def using(monkeypatch: pytest.MonkeyPatch, cache: StateCache) -> StateCache:
    """Have ingest keep complaints in this cache (another cache: another process)."""
    monkeypatch.setattr(ingest_module, "CACHE", cache)
    return cache


async def load(engine: AsyncEngine, events: Sequence[Envelope], size: int = 40) -> None:
    for start in range(0, len(events), size):
        async with engine.begin() as conn:
            await ingest(conn, events[start : start + size])


async def read_model(engine: AsyncEngine) -> dict[str, list[tuple[Any, ...]]]:
    """Every projection's rows in key order, without the time they were written."""
    tables = {}
    async with engine.connect() as conn:
        for table in TABLES:
            columns = [
                c
                for c in table.columns
                if c.name != "updated_at" or table.name != "complaint_facts"
            ]
            rows = await conn.execute(select(*columns).order_by(*table.primary_key.columns))
            tables[table.name] = [tuple(r) for r in rows]
    return tables


def batches(seed: int) -> tuple[list[Envelope], list[Envelope], list[Envelope]]:
    """Three batches of events of the same complaints, each shuffled, with redeliveries."""
    rng = random.Random(seed)
    events = random_cases(rng, 60)
    rng.shuffle(events)
    third = len(events) // 3
    parts = [events[:third], events[third : 2 * third], events[2 * third :]]
    return parts[0], parts[1] + rng.sample(parts[0], 10), parts[2]


async def test_cached_ingest_writes_what_reading_everything_back_writes(
    engines: Engines, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second, third = batches(21)
    events = first + second + third
    async with engines("cache_on") as cached, engines("cache_off") as uncached:
        using(monkeypatch, StateCache(0))
        await load(uncached, events)
        cache = using(monkeypatch, StateCache(10_000))
        await load(cached, events)
        assert cache.hits > 100 and len(cache) > 0
        assert await read_model(cached) == await read_model(uncached)


async def test_a_rolled_back_batch_leaves_nothing_behind(
    engines: Engines, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second, third = batches(22)
    async with engines("rolled_back") as engine, engines("expected") as expected:
        using(monkeypatch, StateCache(0))
        await load(expected, first + third)
        cache = using(monkeypatch, StateCache(10_000))
        await load(engine, first)
        async with engine.connect() as conn:
            transaction = await conn.begin()
            await ingest(conn, second)  # cached as written, then never committed
            await transaction.rollback()
        await load(engine, third)
        assert cache.hits > 0
        assert await read_model(engine) == await read_model(expected)


async def test_a_stream_written_elsewhere_is_read_again(
    engines: Engines, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second, third = batches(23)
    async with engines("two_writers") as engine, engines("one_writer") as expected:
        using(monkeypatch, StateCache(0))
        await load(expected, first + second + third)
        mine = using(monkeypatch, StateCache(10_000))
        await load(engine, first)
        using(monkeypatch, StateCache(10_000))  # another process writes the second batch
        await load(engine, second)
        using(monkeypatch, mine)
        await load(engine, third)
        assert await read_model(engine) == await read_model(expected)


async def test_events_after_a_rebuild_build_on_the_whole_history(
    engines: Engines, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The rebuild stamps every stream anew; what comes after builds on the streams' histories.
    first, second, third = batches(24)
    async with engines("rebuilt") as engine, engines("never_rebuilt") as expected:
        using(monkeypatch, StateCache(0))
        await load(expected, first + second + third)
        await load(engine, first + second)
        await rebuild(engine)
        await load(engine, third)
        assert await read_model(engine) == await read_model(expected)


def test_the_cache_keeps_the_most_recently_used_complaints() -> None:
    from services.analytics.projection.state_cache import Entry

    cache = StateCache(2)
    for name, token in (("a", 1), ("b", 2), ("c", 3)):
        cache.put(name, Entry(token, [], {}))
    assert cache.valid("a", 1) is None  # the oldest went
    assert cache.valid("b", 2) is not None
    cache.put("d", Entry(4, [], {}))  # b was used after c: c goes
    assert cache.valid("c", 3) is None and cache.valid("b", 2) is not None
    assert cache.valid("b", 99) is None and cache.valid("d", None) is None
    StateCache(0).put("a", Entry(1, [], {}))


async def test_the_service_sizes_its_cache_and_collector_as_configured(
    env: TestEnv, database: Database
) -> None:
    from services.analytics.projection import state_cache
    from tests.support.analytics import started

    size, thresholds = state_cache.CACHE.size, gc.get_threshold()
    try:
        async with started(env, database, state_cache_size=123, gc_young_threshold=4321):
            assert state_cache.CACHE.size == 123
            assert gc.get_threshold() == (4321, *thresholds[1:])
    finally:
        state_cache.CACHE.size = size
        gc.set_threshold(*thresholds)
