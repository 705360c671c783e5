"""Two analytics processes sharing the queue build the read model one process would."""

import asyncio
import os
import random
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.analytics.models import inbox
from services.analytics.projection.ingest import ingest
from shared.db import make_engine, upgrade_database_async
from tests.service.test_analytics_rollup import random_cases
from tests.service.test_analytics_state_cache import read_model
from tests.support.env import Database, TestEnv
from tests.support.replica import Replica

MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "analytics" / "migrations"


async def test_two_processes_on_one_queue_write_what_one_would(
    env: TestEnv, database: Database
) -> None:
    if env.backend != "postgresql":
        pytest.skip("SQLite has one writer at a time: run one analytics process on it")
    rng = random.Random(31)
    events = random_cases(rng, 150)
    rng.shuffle(events)
    events += rng.sample(events, 50)  # redeliveries, which either process may get
    async with database("analytics") as url, database("analytics_one") as one_url:
        for target in (url, one_url):
            await upgrade_database_async(MIGRATIONS, target)
        one = make_engine(one_url)
        async with one.begin() as conn:
            await ingest(conn, events)
        settings = {
            **os.environ,
            "APP_ENV": "test",
            "BUS_EXCHANGE": env.exchange,
            "BUS_QUEUE_PREFIX": env.queue_prefix,
            "ANALYTICS_DATABASE_URL": url,
            "RUN_MIGRATIONS_ON_START": "false",
            # Small batches that overlap: the two processes write the same complaints at once.
            "ANALYTICS_BUS_BATCH_SIZE": "25",
            "ANALYTICS_BUS_BATCH_WAIT_SECONDS": "0.02",
            "LOG_LEVEL": "WARNING",
        }
        replicas = [Replica("analytics", settings, env.tmp / f"analytics{i}.log") for i in (1, 2)]
        engine = make_engine(url)
        try:
            for replica in replicas:
                await replica.start()
            bus = env.publisher()
            await bus.connect()
            try:
                await bus.publish(*events)
            finally:
                await bus.close()
            unique = len({e.event_id for e in events})
            async with asyncio.timeout(60):
                while await handled(engine) < unique:
                    await asyncio.sleep(0.1)
            for replica in replicas:
                replica.stop()
            log = "".join(r.log.read_text() for r in replicas)
            assert "event_failed" not in log and "deadlock" not in log, log[-3000:]
            assert await read_model(engine) == await read_model(one)
        finally:
            for replica in replicas:
                replica.stop()
            await engine.dispose()
            await one.dispose()


async def handled(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(inbox)) or 0)
