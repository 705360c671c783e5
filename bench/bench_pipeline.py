"""Intake throughput and outbox drain on PostgreSQL and the local RabbitMQ.

Starts intake as its own process (uvicorn, as `make run` does) on a fresh PostgreSQL database
and a private exchange, posts complaints from concurrent clients, and reports requests/s,
latency percentiles, and how long until every `complaint.received` reached a queue.

    .venv/bin/python bench/bench_pipeline.py [--seconds 10] [--concurrency 64]

The load comes from wrk (a separate C process, `apt-get install wrk`) when it is installed,
otherwise from a Python client, which saturates a core of its own well below the service.
"""

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from shared.auth import mint_token  # noqa: E402
from tests.support.infra import (  # noqa: E402
    AMQP_URL,
    broker_users,
    delete_broker_objects,
    postgres_database,
    run_id,
)
from tests.support.mail import free_port  # noqa: E402
from tests.support.probe import BusProbe  # noqa: E402


def body(i: int) -> dict[str, object]:
    return {
        "customer": {"name": f"Customer {i}", "email": f"c{i}@example.com"},
        "channel": "email",
        "contact": f"c{i}@example.com",
        "category": "billing",
        "product": "Credit card",
        "region": "CA",
        "description": "Charged twice for the same purchase.",
    }


async def post_all(url: str, token: str, total: int, concurrency: int) -> list[float]:
    latencies: list[float] = []
    counter = iter(range(total))
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits) as client:

        async def worker() -> None:
            for i in counter:
                started = time.perf_counter()
                response = await client.post("/v1/complaints", json=body(i))
                latencies.append(time.perf_counter() - started)
                assert response.status_code == 201, response.text

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies


WRK_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %s"
wrk.body = '%s'
"""


def load_with_wrk(
    url: str, token: str, seconds: int, concurrency: int, tmp: Path
) -> tuple[int, float, str]:
    script = tmp / "post.lua"
    script.write_text(WRK_SCRIPT % (token, json.dumps(body(0))))
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{concurrency}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            str(script),
            f"{url}/v1/complaints",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    total = int(re.search(r"(\d+) requests in ([\d.]+)s", out).group(1))  # type: ignore[union-attr]
    if "Non-2xx" in out:
        raise RuntimeError(out)
    latency = " ".join(
        f"p{m.group(1)} {m.group(2)}" for m in re.finditer(r"\s+(50|90|99)%\s+(\S+)", out)
    )
    return total, seconds, latency


async def wait_ready(url: str) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(200):
            try:
                if (await client.get(f"{url}/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("intake did not start")


async def main(seconds: int, total: int, concurrency: int) -> None:
    run, port, secret = run_id(), free_port(), "bench-secret-" + run_id() * 4
    exchange, prefix = f"complaints.b{run}", f"t{run}."
    async with postgres_database(f"b_{run}_intake") as url:
        env = {
            **os.environ,
            "INTAKE_DATABASE_URL": url,
            "INTAKE_PORT": str(port),
            "AUTH_SECRET": secret,
            **broker_users(),  # intake logs in as itself
            "BUS_EXCHANGE": exchange,
            "BUS_QUEUE_PREFIX": prefix,
            "LOG_LEVEL": "WARNING",
        }
        proc = subprocess.Popen([sys.executable, "-m", "services.intake"], cwd=ROOT, env=env)
        base, token = f"http://127.0.0.1:{port}", mint_token(secret, "frontend", "bench")
        try:
            await wait_ready(base)
            async with BusProbe(AMQP_URL, exchange, "complaint.received") as probe:
                started = time.perf_counter()
                if shutil.which("wrk"):
                    tmp = Path(os.environ.get("TMPDIR", "/tmp"))
                    count, posted, latency = await asyncio.to_thread(
                        load_with_wrk, base, token, seconds, concurrency, tmp
                    )
                    client = "wrk"
                else:
                    latencies = await post_all(base, token, total, concurrency)
                    count, posted = total, time.perf_counter() - started
                    q = statistics.quantiles(latencies, n=100)
                    latency = " ".join(f"p{n} {q[n - 1] * 1000:.0f}ms" for n in (50, 90, 99))
                    client = "python client"
                await probe.wait_for("complaint.received", count=count, timeout=300)
                drained = time.perf_counter() - started
        finally:
            proc.terminate()
            proc.wait(10)
            await delete_broker_objects(exchange, prefix, ["intake"])
    print(f"intake on PostgreSQL, load from {client}, {concurrency} connections")
    print(f"  POST /v1/complaints    {count / posted:8.0f} req/s   latency {latency}")
    print(
        f"  complaint.received     {count / drained:8.0f} events/s on the bus, "
        f"last one {max(drained - posted, 0):.2f} s after the load stopped ({count} in all)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10, help="wrk duration")
    parser.add_argument("--complaints", type=int, default=3000, help="without wrk")
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args()
    asyncio.run(main(args.seconds, args.complaints, args.concurrency))
