"""Incident detector: the cost of one complaint stays flat as the history grows.

Usage: python bench/bench_escalation.py [--history 12000] [--sample 300] [--backend sqlite]
                                      [--rules-history 100000]
(`make bench` runs the default; `--history 200000 --rules-history 1000000 --backend postgresql`
is the full run.) First the detector's rules alone (the per-key state update and threshold test,
in memory) up to `--rules-history` complaints; then the whole detection with its database.
Replays a steady generated stream (40 products, 10 regions, 8 categories, 30 complaints an
hour in event time) through the service's own detection code against a throwaway database, and
prints, at growing history sizes, the median and 95th-percentile time of detecting one
complaint (database round trips and commit included) and the rows the detector keeps: one per
pattern key (bounded by the distinct keys, not by history) and the recent window's complaints.
"""

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.escalation.app import load_config, load_rules
from services.escalation.incidents import detector as det
from services.escalation.incidents.reactions import detect
from services.escalation.models import metadata, pattern_stats, recent_complaints
from services.escalation.settings import EscalationSettings
from shared.db import make_engine, upgrade_database
from shared.events import ComplaintReceived, new_event
from shared.uow import UnitOfWork
from tests.support.infra import postgres_database, run_id

MIGRATIONS = Path(__file__).resolve().parents[1] / "services" / "escalation" / "migrations"
START = datetime(2026, 1, 1, tzinfo=UTC)
settings = EscalationSettings()
CONFIG = load_config(settings.escalation_path)
RULES = load_rules(settings.rules_path)


def complaint(i: int, rnd: random.Random) -> tuple[object, ComplaintReceived]:
    data = ComplaintReceived(
        reference=f"CMP-{i}",
        customer_key="k" * 64,
        channel="web",
        contact="a@example.com",
        category=f"category-{rnd.randrange(8)}",
        product=f"product-{rnd.randrange(40)}",
        region=f"R{rnd.randrange(10)}",
        description="It broke.",
        received_at=START + timedelta(minutes=2 * i),
    )
    envelope = new_event(
        "complaint.received", data, producer="bench", complaint_id=str(uuid.uuid4())
    )
    return envelope, data


async def feed(engine: AsyncEngine, start: int, count: int, rnd: random.Random) -> list[float]:
    timings = []
    for i in range(start, start + count):
        envelope, data = complaint(i, rnd)
        async with UnitOfWork(engine, metadata, lambda: None) as uow:
            began = time.perf_counter()
            await detect(uow, envelope, data, CONFIG.detector, RULES, datetime.now(UTC))  # type: ignore[arg-type]
            await uow.commit()
            timings.append((time.perf_counter() - began) * 1000)
    return timings


def rules_alone(history: int, sample: int) -> None:
    """The per-complaint cost of the detector's own state update, without the database."""
    config, rnd = CONFIG.detector, random.Random(1)
    states: dict[str, det.KeyState] = {}
    first = config.bucket_of(START)
    fed = 0
    print(f"detector rules in memory; sample of {sample} complaints at each history size")
    print(f"{'history':>9} {'median us':>10} {'pattern keys':>13}")
    for step in sorted({history // 100, history // 10, history}):
        timings = []
        while fed < step + sample:
            _, data = complaint(fed, rnd)
            values = {"product": data.product, "category": data.category, "region": data.region}
            began = time.perf_counter()
            bucket = config.bucket_of(data.received_at)
            for pattern in config.patterns:
                dims = det.pattern_key(pattern, values)
                assert dims is not None
                key = det.key_name(pattern, dims)
                state = states.get(key) or det.fresh(bucket, first, config)
                states[key] = det.observe(state, bucket, config)
                det.crossing(states[key], config)
            if fed >= step:
                timings.append((time.perf_counter() - began) * 1e6)
            fed += 1
        print(f"{fed:>9,} {statistics.median(timings):>10.1f} {len(states):>13,}")
    print()


@asynccontextmanager
async def database(backend: str) -> AsyncIterator[str]:
    if backend == "postgresql":
        async with postgres_database(f"bench_escalation_{run_id()}") as url:
            yield url
        return
    with tempfile.TemporaryDirectory() as scratch:
        yield f"sqlite+aiosqlite:///{scratch}/bench.db"


async def main(history: int, sample: int, backend: str) -> None:
    async with database(backend) as url:
        await asyncio.to_thread(upgrade_database, MIGRATIONS, url)
        engine = make_engine(url)
        rnd = random.Random(1)
        steps = sorted({history // 16, history // 4, history})
        fed = 0
        print(f"backend: {backend}; sample of {sample} complaints at each history size")
        header = ("history", "median ms", "p95 ms", "pattern keys", "window rows")
        print("{:>9} {:>10} {:>8} {:>13} {:>12}".format(*header))
        for step in steps:
            if step > fed:
                await feed(engine, fed, step - fed, rnd)
                fed = step
            timings = sorted(await feed(engine, fed, sample, rnd))
            fed += sample
            async with engine.connect() as conn:
                keys = await conn.scalar(select(func.count()).select_from(pattern_stats))
                window = await conn.scalar(select(func.count()).select_from(recent_complaints))
            p95 = timings[int(len(timings) * 0.95) - 1]
            median = statistics.median(timings)
            print(f"{fed:>9,} {median:>10.2f} {p95:>8.2f} {keys:>13,} {window:>12,}")
        await engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--history", type=int, default=12_000)
    parser.add_argument("--sample", type=int, default=300)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--rules-history", type=int, default=100_000)
    args = parser.parse_args()
    rules_alone(args.rules_history, 1000)
    asyncio.run(main(args.history, args.sample, args.backend))
