"""SLA timer scan on PostgreSQL: its cost follows the timers due, not the timers pending.

Usage: python bench/bench_ownership.py [--pending 200000] [--due 100]
(`make bench` runs the default; `--pending 2000000` is the full run.) A throwaway database is
created on the tests' PostgreSQL server and dropped afterwards. Prints the median latency of
the due-timer claim (SELECT ... FOR UPDATE SKIP LOCKED) as pending timers grow, and its plan.
"""

import argparse
import asyncio
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.ownership.models import timers
from services.ownership.timers import due_query
from shared.db import make_engine, upgrade_database
from tests.support.infra import postgres_database, run_id

MIGRATIONS = Path(__file__).resolve().parents[1] / "services" / "ownership" / "migrations"
NOW = datetime(2026, 6, 1, tzinfo=UTC)


def rows(count: int, start: int, due: bool) -> list[dict[str, object]]:
    base = NOW - timedelta(minutes=5) if due else NOW + timedelta(days=1)
    return [
        {
            "kind": "breach",
            "subject": "case",
            "subject_id": f"s{start + i}",
            "case_id": f"s{start + i}",
            "department": None,
            "due_at": base + timedelta(seconds=i),
            "sla_due_at": base + timedelta(seconds=i),
            "created_at": NOW,
        }
        for i in range(count)
    ]


async def claim_ms(engine: object, limit: int, repeats: int = 20) -> float:
    samples = []
    for _ in range(repeats):
        async with engine.connect() as conn:  # type: ignore[attr-defined]
            started = time.perf_counter()
            claimed = (await conn.execute(due_query(NOW, limit))).all()
            samples.append((time.perf_counter() - started) * 1000)
            await conn.rollback()
    assert len(claimed) == limit
    return statistics.median(samples)


async def main(pending: int, due: int) -> None:
    async with postgres_database(f"bench_ownership_{run_id()}") as url:
        await asyncio.to_thread(upgrade_database, MIGRATIONS, url)
        engine = make_engine(url)
        async with engine.begin() as conn:
            await conn.execute(timers.insert(), rows(due, 0, due=True))
        steps = sorted({pending // 100, pending // 10, pending})
        inserted = 0
        print(f"due timers: {due}; claim batch: {due}")
        print(f"{'pending timers':>15} {'claim median ms':>16}")
        for step in steps:
            while inserted < step:
                chunk = min(20_000, step - inserted)
                async with engine.begin() as conn:
                    await conn.execute(timers.insert(), rows(chunk, due + inserted, due=False))
                inserted += chunk
            async with engine.begin() as conn:
                await conn.execute(text("ANALYZE timers"))
            print(f"{inserted:>15,} {await claim_ms(engine, due):>16.2f}")
        async with engine.connect() as conn:
            compiled = due_query(NOW, due).compile(
                conn.sync_connection, compile_kwargs={"literal_binds": True}
            )
            plan = await conn.execute(text(f"EXPLAIN (ANALYZE, BUFFERS) {compiled}"))
            print("\n".join(r[0] for r in plan))
            await conn.rollback()
        await engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pending", type=int, default=200_000)
    parser.add_argument("--due", type=int, default=100)
    args = parser.parse_args()
    asyncio.run(main(args.pending, args.due))
