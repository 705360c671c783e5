"""Speed of the whole pipeline, measured against the raw limit of the stack in the same run.

1. The raw limit (`bench/rawlimit.py`: validate, one PostgreSQL row, one confirmed persistent
   message), intake with one process and with INTAKE_WORKERS processes, each under the same
   closed-loop burst (wrk when installed, else a Python client), and their ratio to the limit.
2. The five services on PostgreSQL, started by scripts/run.py as `make run` does: the sustained
   end-to-end rate of a burst (posted -> owned -> prioritised -> fact row in analytics), then
   complaint -> owner latency at an open-loop rate of half that, with the time split by stage.
3. Resident memory of every process, and the machine.

    .venv/bin/python bench/bench_speed.py [--seconds 8] [--connections 64] [--workers N]

Figures only; nothing here is a pass/fail test. Each stage's load lasts `--seconds`.
"""

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import load, procs  # noqa: E402
from bench.pipeline_probe import PipelineProbe, stage_table  # noqa: E402
from shared.auth import mint_token  # noqa: E402
from shared.db import upgrade_database  # noqa: E402
from tests.support.infra import (  # noqa: E402
    AMQP_URL,
    broker_users,
    delete_broker_objects,
    grant_topics,
    postgres_database,
    run_id,
)
from tests.support.mail import MailSink, free_port  # noqa: E402

SERVICES = ["intake", "escalation", "ownership", "confirmation", "analytics"]
RSS_LIMIT_MB = 250


def asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def sink_queue(exchange: str, name: str) -> None:
    """A durable quorum queue on the exchange, as a consumer's would be, so messages are stored."""
    import aio_pika

    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        channel = await connection.channel()
        ex = await channel.declare_exchange(exchange, aio_pika.ExchangeType.TOPIC, durable=True)
        queue = await channel.declare_queue(
            name, durable=True, arguments={"x-queue-type": "quorum"}
        )
        await queue.bind(ex, "complaint.#")


async def intake_alone(opts: argparse.Namespace, log_dir: Path) -> None:
    run, secret = run_id(), "bench-secret-" + run_id() * 4
    exchange, prefix = f"complaints.t{run}", f"t{run}."
    token = mint_token(secret, "frontend", "bench")
    await sink_queue(exchange, f"{prefix}sink")
    results: dict[str, load.Burst] = {}
    try:
        async with (
            postgres_database(f"b_{run}_raw") as raw_url,
            postgres_database(f"b_{run}_intake") as intake_url,
        ):
            await asyncio.to_thread(
                upgrade_database, ROOT / "services/intake/migrations", intake_url
            )
            port = free_port()
            raw = procs.start(
                [
                    "bench/rawlimit.py",
                    f"--port={port}",
                    f"--dsn={asyncpg_dsn(raw_url)}",
                    f"--amqp={AMQP_URL}",
                    f"--exchange={exchange}",
                ],
                dict(os.environ),
                log_dir / "rawlimit.log",
            )
            results["raw limit"] = await _measure(raw, f"http://127.0.0.1:{port}", token, opts)
            for workers in sorted({1, opts.workers}):
                port = free_port()
                env = {
                    **os.environ,
                    **broker_users(),
                    "INTAKE_DATABASE_URL": intake_url,
                    "INTAKE_PORT": str(port),
                    "INTAKE_WORKERS": str(workers),
                    "AUTH_SECRET": secret,
                    "BUS_EXCHANGE": exchange,
                    "BUS_QUEUE_PREFIX": prefix,
                    "RUN_MIGRATIONS_ON_START": "false",
                    "LOG_LEVEL": "WARNING",
                }
                proc = procs.start(["-m", "services.intake"], env, log_dir / "intake.log")
                label = f"intake, {workers} process" + ("es" if workers > 1 else "")
                results[label] = await _measure(proc, f"http://127.0.0.1:{port}", token, opts)
    finally:
        await delete_broker_objects(exchange, prefix, ["sink"])
    limit = results["raw limit"].rate
    print(f"POST /v1/complaints, {opts.connections} connections, {opts.seconds} s each")
    for label, burst in results.items():
        print(
            f"  {label:<22} {burst.rate:7.0f} req/s  {burst.rate / limit:5.2f}x raw   "
            f"{burst.latency}  ({burst.client}, {burst.requests} requests, {burst.errors} errors)"
        )


async def _measure(proc: object, base: str, token: str, opts: argparse.Namespace) -> load.Burst:
    assert hasattr(proc, "poll")
    try:
        await procs.wait_ready([base], proc)  # type: ignore[arg-type]
        await load.burst(f"{base}/v1/complaints", token, 1, 8)  # warm up
        return await load.burst(f"{base}/v1/complaints", token, opts.seconds, opts.connections)
    finally:
        procs.stop(proc)  # type: ignore[arg-type]


async def pipeline(opts: argparse.Namespace, log_dir: Path) -> None:
    run, secret = run_id(), "bench-secret-" + run_id() * 4
    ports = {s: free_port() for s in SERVICES}
    env = {
        **os.environ,
        "APP_ENV": "test",
        "AUTH_SECRET": secret,
        **broker_users(),
        "BUS_EXCHANGE": f"complaints.t{run}",
        "BUS_QUEUE_PREFIX": f"t{run}.",
        "VAR_DIR": str(log_dir / "var"),
        "INTAKE_WORKERS": str(opts.workers),
        "LOG_LEVEL": "WARNING",
        **{f"{s.upper()}_PORT": str(p) for s, p in ports.items()},
    }
    token = mint_token(secret, "frontend", "bench")
    urls = {s: f"http://127.0.0.1:{p}" for s, p in ports.items()}
    post_url = f"{urls['intake']}/v1/complaints"
    databases = [postgres_database(f"b_{run}_{s}") for s in SERVICES]
    with MailSink() as mail:
        env["CONFIRMATION_SMTP_PORT"] = str(mail.port)
        env["CONFIRMATION_SMTP_LISTEN_PORT"] = str(free_port())
        db_urls = {s: await db.__aenter__() for s, db in zip(SERVICES, databases, strict=True)}
        env |= {f"{s.upper()}_DATABASE_URL": u for s, u in db_urls.items()}
        await grant_topics(env["BUS_EXCHANGE"])
        launcher = procs.start(["scripts/run.py", "--no-mailsink"], env, log_dir / "run.log")
        try:
            await procs.wait_ready(list(urls.values()), launcher, 120)
            probe = PipelineProbe({s: asyncpg_dsn(u) for s, u in db_urls.items()})
            await probe.connect()
            await load.burst(post_url, token, 1, 8)  # warm up, and let it through
            before = await probe.count_posted()
            await probe.wait_done(before, opts.drain_seconds)
            started = time.time()
            burst = await load.burst(post_url, token, opts.seconds, opts.connections)
            await asyncio.sleep(1)  # the requests wrk cut off still commit
            posted = await probe.count_posted() - before
            done_at, done = await probe.wait_done(before + posted, opts.drain_seconds)
            done = min(done - before, posted)
            rate = done / (done_at - started)
            print(f"whole pipeline on PostgreSQL, intake with {opts.workers} process(es)")
            print(
                f"  burst: {posted} complaints posted in {burst.seconds:.1f} s "
                f"({burst.rate:.0f}/s, {burst.errors} errors); {done} owned, prioritised and in "
                f"analytics {done_at - started:.1f} s after the first"
            )
            print(f"  sustained end to end   {rate:7.1f} complaints/s")
            for stage, at in probe.reached.items():
                print(f"    every one {stage:<26} {at - started:5.1f} s after the first")
            offered = max(rate / 2, 1.0)
            sent = await load.open_loop(post_url, token, offered, opts.seconds)
            stages = await probe.stages(sent, opts.drain_seconds)
            print(f"  open loop at {offered:.1f}/s for {opts.seconds} s ({len(sent)} complaints):")
            print(stage_table(stages))
            await probe.close()
            print("resident memory (MB, now / peak):")
            for pid, what, rss, peak in procs.memory_of_tree(launcher.pid):
                flag = "  over the limit" if peak > RSS_LIMIT_MB else ""
                print(f"  {pid:>7} {what:<28} {rss:6.0f} / {peak:6.0f}{flag}")
        finally:
            procs.stop(launcher)
            await delete_broker_objects(env["BUS_EXCHANGE"], env["BUS_QUEUE_PREFIX"], SERVICES)
            for db in databases:
                await db.__aexit__(None, None, None)


async def main(opts: argparse.Namespace) -> None:
    print(f"machine: {procs.machine()}")
    log_dir = ROOT / "var" / "bench"
    if not opts.pipeline_only:
        await intake_alone(opts, log_dir)
    await pipeline(opts, log_dir)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=8, help="length of each load")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="INTAKE_WORKERS")
    parser.add_argument("--drain-seconds", type=float, default=60, help="wait for the pipeline")
    parser.add_argument("--pipeline-only", action="store_true")
    asyncio.run(main(parser.parse_args()))
