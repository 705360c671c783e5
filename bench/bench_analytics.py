"""Analytics at scale on PostgreSQL: read-model ingest rate, grouped KPI latency, export speed.

Usage: python bench/bench_analytics.py [--complaints 100000] [--workers 2] [--keep]
(`make bench` runs the default; `--complaints 1000000` is the full run.) A throwaway database is
created on BENCH_PG_DSN (default: the tests' server) and dropped afterwards unless --keep.
"""

import argparse
import asyncio
import gc
import heapq
import itertools
import os
import random
import resource
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.analytics import export, reactions
from services.analytics.app import create_app
from services.analytics.kpi.rules import GROUP_COLUMNS
from services.analytics.models import complaint_facts, inbox, metadata
from services.analytics.projection.ingest import ingest
from services.analytics.settings import AnalyticsSettings
from shared.db import make_engine, upgrade_database
from shared.events import (
    CaseAssigned,
    CaseClosed,
    CaseReopened,
    CaseResolutionProposed,
    ComplaintPrioritized,
    ComplaintReceived,
    ConfirmationAnswered,
    Envelope,
    EventData,
    TaskCompleted,
    TaskCreated,
    new_event,
)
from shared.uow import UnitOfWork
from tests.support.infra import broker_users, delete_broker_objects, service_url
from tests.support.publisher import OwnerBus

ADMIN_DSN = os.environ.get("BENCH_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
ROOT = Path(__file__).resolve().parents[1]
MIGRATIONS = ROOT / "services" / "analytics" / "migrations"
END = datetime(2026, 11, 1, tzinfo=UTC)
START = END - timedelta(days=365)
CHANNELS = ["email", "sms", "phone", "web", "chat", "walk_in", "letter"]
CATEGORIES = [f"category-{i}" for i in range(20)]
PRODUCTS = [f"product-{i}" for i in range(30)]
REGIONS = [f"R{i:02d}" for i in range(50)]
DEPARTMENTS = ["billing", "field", "it", "legal", "logistics"]
CHILD_TABLES = ("task_facts", "confirmation_facts", "audit_facts")


def story(rng: random.Random, t0: datetime | None = None) -> list[Envelope]:
    """One complaint's events: received, prioritised, assigned, maybe a task and a rejection."""
    cid = str(uuid.uuid4())
    t0 = t0 or START + timedelta(seconds=rng.randrange(365 * 86400))
    channel = rng.choice(CHANNELS)

    def ev(type_: str, hours: float, data: EventData, suffix: str | None = None) -> Envelope:
        at = t0 + timedelta(hours=hours)
        return new_event(
            type_, data, producer="bench", complaint_id=cid, occurred_at=at, routing_suffix=suffix
        )

    owner = f"owner-{rng.randrange(400)}"
    due = t0 + timedelta(hours=rng.choice([24, 48, 72, 120]))
    events = [
        ev(
            "complaint.received",
            0,
            ComplaintReceived(
                reference="CMP-" + cid[:8].upper(),
                customer_key=f"{rng.getrandbits(256):064x}",
                channel=channel,
                contact="x@example.com",
                category=rng.choice(CATEGORIES),
                product=rng.choice(PRODUCTS),
                region=rng.choice(REGIONS),
                description="-",
                received_at=t0,
            ),
        ),
        ev(
            "complaint.prioritized",
            0.01,
            ComplaintPrioritized(priority=rng.choice(["P1", "P2", "P3", "P4"]), reasons=[]),
        ),
        ev(
            "case.assigned",
            0.02,
            CaseAssigned(owner_id=owner, team=f"team-{owner[-1]}", due_at=due),
        ),
    ]
    hours = rng.uniform(2, 90)
    if rng.random() < 0.3:
        department, task_id = rng.choice(DEPARTMENTS), str(uuid.uuid4())
        task_due = t0 + timedelta(hours=hours)
        done = task_due + timedelta(hours=rng.uniform(-10, 4))
        task = {"task_id": task_id, "department": department, "type": "check", "due_at": task_due}
        events.append(ev("task.created", 1, TaskCreated(**task), department))
        events.append(
            ev(
                "task.completed",
                max(1.5, (done - t0).total_seconds() / 3600),
                TaskCompleted(**task, completed_at=done),
                department,
            )
        )
    proposal = CaseResolutionProposed(
        owner_id=owner, outcome="resolved", summary="-", proposal_no=1
    )
    events.append(ev("case.resolution_proposed", hours, proposal))
    if rng.random() < 0.15:
        return events  # still waiting for the customer
    answer = {"request_id": cid, "channel": channel, "evidence": "-"}
    if rng.random() < 0.2:
        events.append(
            ev(
                "confirmation.rejected",
                hours + 5,
                ConfirmationAnswered(**answer, received_at=t0 + timedelta(hours=hours + 5)),
            )
        )
        events.append(
            ev(
                "case.reopened",
                hours + 5.1,
                CaseReopened(request_id=cid, reason="-", reopen_count=1),
            )
        )
        hours += 30
    yes = t0 + timedelta(hours=hours + rng.uniform(1, 48))
    events.append(
        ev(
            "confirmation.confirmed",
            (yes - t0).total_seconds() / 3600,
            ConfirmationAnswered(**answer, received_at=yes),
        )
    )
    events.append(
        ev(
            "case.closed",
            (yes - t0).total_seconds() / 3600 + 0.01,
            CaseClosed(request_id=cid, reason="-", outcome="resolved"),
        )
    )
    return events


def in_time_order(rng: random.Random, complaints: int, days: int = 365) -> Iterator[Envelope]:
    """The complaints' events as the bus delivers them live: in the order they happen."""
    receipts = sorted(rng.randrange(days * 86400) for _ in range(complaints))
    pending: list[tuple[datetime, int, Envelope]] = []
    for number, second in enumerate(receipts):
        t0 = START + timedelta(seconds=second)
        while pending and pending[0][0] <= t0:
            yield heapq.heappop(pending)[2]
        for n, event in enumerate(story(rng, t0)):
            heapq.heappush(pending, (event.occurred_at, number * 16 + n, event))
    while pending:
        yield heapq.heappop(pending)[2]


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def vacuum(dsn: str) -> None:
    """What autovacuum does on a production server (this machine's runs with it off): reclaim
    the row versions that re-projections leave behind and refresh the planner's statistics."""
    conn = await asyncpg.connect(dsn)
    try:
        for table in ("kpi_rollup", "complaint_facts", "streams", *CHILD_TABLES):
            await conn.execute(f"VACUUM (ANALYZE) {table}")
        await conn.execute("ANALYZE fact_events")
    finally:
        await conn.close()


async def load(
    engine: Any, complaints: int, workers: int, batch_events: int, dsn: str
) -> tuple[int, float, float, float]:
    """(events ingested, seconds spent ingesting, seconds spent generating events, seconds of
    this process's CPU spent ingesting)."""
    rng = random.Random(6)
    queue: asyncio.Queue[list[Envelope] | None] = asyncio.Queue(maxsize=workers * 2)
    ingested = 0

    async def worker() -> None:
        nonlocal ingested
        while (batch := await queue.get()) is not None:
            async with engine.begin() as conn:
                count = await ingest(conn, batch)
            ingested += count

    tasks = [asyncio.create_task(worker()) for _ in range(workers)]
    started, cpu, generating = time.perf_counter(), time.process_time(), 0.0
    batch: list[Envelope] = []
    stream = in_time_order(rng, complaints)
    vacuuming: asyncio.Task[None] | None = None
    while True:
        t = time.perf_counter()
        batch = list(itertools.islice(stream, batch_events))
        generating += time.perf_counter() - t
        if not batch:
            break
        await queue.put(batch)
        if ingested // 100_000 != (ingested + len(batch)) // 100_000:
            print(f"  … {ingested} events", flush=True)
            if vacuuming is None or vacuuming.done():
                vacuuming = asyncio.create_task(vacuum(dsn))
    if vacuuming is not None:
        await vacuuming
    for _ in tasks:
        await queue.put(None)
    await asyncio.gather(*tasks)
    cpu = time.process_time() - cpu - generating  # generating is all CPU
    return ingested, time.perf_counter() - started, generating, cpu


async def consumer_rate(url: str, complaints: int, days: int, replicas: int) -> tuple[int, float]:
    """(events, seconds) for running analytics services to consume a backlog from RabbitMQ.

    The service starts once to declare and bind its queue and stops; the events are published to
    the queue; then `replicas` service processes (`python -m services.analytics`, uvicorn on
    uvloop, as `make run` starts it) consume it. The clock runs from the first event committed
    to the last, so neither the publisher nor the processes' start-up is counted.
    """
    run = uuid.uuid4().hex[:8]
    logins = broker_users()  # every service's own broker user exists; analytics logs in as it
    settings = AnalyticsSettings(
        database_url=url,
        amqp_url=service_url("analytics"),
        bus_exchange=f"complaints.bench{run}",
        bus_queue_prefix=f"t{run}.",
        run_migrations_on_start=False,
    )
    events = list(in_time_order(random.Random(7), complaints, days))
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        before = await _handled(app.state.engine)
    # Each event as the service that owns it: analytics refuses any other publisher.
    bus = OwnerBus(settings.bus_exchange)
    await bus.connect()
    try:
        for start in range(0, len(events), 1000):
            await bus.publish(*events[start : start + 1000])
    finally:
        await bus.close()
    environment = {
        **os.environ,
        "ANALYTICS_DATABASE_URL": url,
        **logins,
        "BUS_EXCHANGE": settings.bus_exchange,
        "BUS_QUEUE_PREFIX": settings.bus_queue_prefix,
        "RUN_MIGRATIONS_ON_START": "false",
        "LOG_LEVEL": "WARNING",
    }
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "services.analytics"],
            env={**environment, "ANALYTICS_PORT": str(_free_port())},
            cwd=ROOT,
        )
        for _ in range(replicas)
    ]
    engine = make_engine(url)
    try:
        while (first := await _handled(engine) - before) == 0:
            await asyncio.sleep(0.02)
        started = time.perf_counter()
        while await _handled(engine) - before < len(events):
            await asyncio.sleep(0.05)
        seconds = time.perf_counter() - started
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)
        await engine.dispose()
    await delete_broker_objects(settings.bus_exchange, settings.bus_queue_prefix, ["analytics"])
    return len(events) - first, seconds


def _cpu() -> str:
    """The processor's model and the cores this process may use: figures vary with both."""
    model = "unknown processor"
    with open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{model}, {len(os.sched_getaffinity(0))} cores"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _handled(engine: Any) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(inbox))).scalar_one())


class BenchRuntime:
    """What kpi_report needs of a Runtime: units of work on the engine (no bus)."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.settings = AnalyticsSettings()

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.engine, metadata, lambda: None)


async def kpi_latency(engine: Any, repeats: int) -> dict[str, tuple[float, float]]:
    rt: Any = BenchRuntime(engine)
    gc.collect()
    gc.freeze()  # as the service does once started (shared/service.py)
    figures = {}
    for group_by in GROUP_COLUMNS:
        await reactions.kpi_report(rt, START, END, group_by)  # warm the cache
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            await reactions.kpi_report(rt, START, END, group_by)
            times.append((time.perf_counter() - t) * 1000)
        times.sort()
        figures[group_by] = (statistics.median(times), times[max(0, int(len(times) * 0.95) - 1)])
    return figures


async def export_speed(engine: Any) -> dict[str, tuple[float, float]]:
    figures = {}
    for fmt, stream in (("csv", export.csv_stream), ("parquet", export.parquet_stream)):
        t, size = time.perf_counter(), 0
        async for chunk in stream(engine, complaint_facts):
            size += len(chunk)
        figures[fmt] = (time.perf_counter() - t, size / 1e6)
    return figures


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--complaints", type=int, default=int(os.environ.get("BENCH_ANALYTICS_COMPLAINTS", 100_000))
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch-events", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--consumed", type=int, default=5000, help="complaints sent over the bus")
    parser.add_argument("--replicas", type=int, default=2, help="service processes consuming")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    name = f"bench_analytics_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(ADMIN_DSN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    sizes = await admin.fetch(
        "SELECT name, current_setting(name) AS value FROM pg_settings WHERE name = ANY($1)"
        " ORDER BY name",
        ["shared_buffers", "effective_cache_size", "max_wal_size", "checkpoint_timeout"],
    )
    await admin.close()
    url = ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + "/" + name
    engine = make_engine(url)
    runtime: Any = BenchRuntime(engine)
    await reactions.tune_process(runtime)  # as the service does at start
    try:
        await asyncio.to_thread(upgrade_database, MIGRATIONS, url)
        print(f"analytics bench: {args.complaints} complaints over a year on PostgreSQL ({name})")
        print("  server: " + ", ".join(f"{r['name']} = {r['value']}" for r in sizes))
        dsn = ADMIN_DSN.rsplit("/", 1)[0] + "/" + name
        events, seconds, generating, cpu = await load(
            engine, args.complaints, args.workers, args.batch_events, dsn
        )
        rss_after_ingest = rss_mb()
        ingest_only = seconds - generating
        print(f"ingest: {events} events in {seconds:.1f} s ({generating:.1f} s spent generating)")
        print(f"  read-model ingest rate: {events / ingest_only:,.0f} events/s (target >= 5,000)")
        print(f"  counting the generator's time too: {events / seconds:,.0f} events/s")
        print(f"  this process's CPU: {cpu / events * 1e6:.0f} µs an event (on {_cpu()})")
        if args.consumed:
            # As many complaints a day as the load had: a complaint's events spread as live.
            days = max(1, round(365 * args.consumed / args.complaints))
            print("  through RabbitMQ, service processes consuming a backlog in batches:")
            for replicas in sorted({1, args.replicas}):
                sent, secs = await consumer_rate(url, args.consumed, days, replicas)
                if sent == 0:  # the first batch committed took every event: nothing to time
                    print(f"  {replicas} process(es): one batch; raise --consumed to time it")
                    continue
                rate = f"{sent / secs:,.0f} events/s (target >= 5,000)"
                print(f"  {replicas} process(es): {sent} events in {secs:.1f} s = {rate}")
        # What autovacuum does after a bulk load: every re-projection left dead row versions.
        vacuum = await asyncpg.connect(ADMIN_DSN.rsplit("/", 1)[0] + "/" + name)
        await vacuum.execute("VACUUM ANALYZE")
        await vacuum.close()
        latency = await kpi_latency(engine, args.repeats)
        print(f"grouped KPIs over a year ({args.repeats} runs each): p50 / p95 ms")
        for group_by, (p50, p95) in latency.items():
            print(f"  {group_by:<10} {p50:8.1f} {p95:8.1f}")
        worst = max(p95 for _, p95 in latency.values())
        print(f"  worst p95: {worst:.1f} ms (target < 100 ms)")
        before_export = peak_rss_mb()
        for fmt, (secs, mb) in (await export_speed(engine)).items():
            rate, speed = args.complaints / secs, mb / secs
            print(
                f"export complaint_facts.{fmt}: {rate:,.0f} rows/s, {speed:.1f} MB/s ({mb:.1f} MB)"
            )
        peak = peak_rss_mb()
        print(f"process RSS: {rss_after_ingest:.0f} MB after ingest, peak {before_export:.0f} MB")
        print(f"  peak after the exports: {peak:.0f} MB (the exports stream in constant memory)")
    finally:
        await engine.dispose()
        if not args.keep:
            admin = await asyncpg.connect(ADMIN_DSN)
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
