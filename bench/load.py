"""Load for the benchmarks: a closed-loop burst (wrk, else Python) and an open-loop stream.

Every complaint is a different customer (so continuity does not route them all to one owner),
spread over the demo organisation's teams. The closed loop answers "how many per second can it
take"; the open loop sends at a fixed rate whatever the answers do, so queueing shows in the
latency instead of slowing the sender down.
"""

import asyncio
import json
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

CATEGORIES = [
    "billing",
    "late delivery",
    "Mortgage",
    "general",
    "fees",
    "Checking or savings account",
]
DESCRIPTION = (
    "I was charged twice for the same purchase on my card last week and the second charge has "
    "not been refunded although I called twice. Please look into it and tell me what happens."
)


def body(i: int, tag: str = "") -> dict[str, object]:
    email = f"c{tag}{i}@example.com"
    return {
        "customer": {"name": f"Customer {i}", "email": email},
        "channel": "email",
        "contact": email,
        "category": CATEGORIES[i % len(CATEGORIES)],
        "product": "Credit card",
        "region": "CA",
        "description": DESCRIPTION,
    }


@dataclass
class Burst:
    client: str
    requests: int
    seconds: float
    errors: int
    latency: str  # "p50 .. p99 .."

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


# Each wrk thread numbers its own bodies; the thread id and a random tag keep them apart.
WRK_SCRIPT = """
local counter, tag = 0, ""
function setup(thread) thread:set("tid", tostring(math.random(1, 1e9))) end
function init(args) tag = tid end
function request()
  counter = counter + 1
  local email = "w" .. tag .. "n" .. counter .. "@example.com"
  local categories = {%(categories)s}
  local body = string.format(%(template)s, counter, email, email,
    categories[(counter %% #categories) + 1])
  return wrk.format("POST", "/v1/complaints", {
    ["Content-Type"] = "application/json", ["Authorization"] = "Bearer %(token)s"}, body)
end
"""


def _wrk_template() -> str:
    sample = json.dumps(body(0))
    sample = sample.replace('"Customer 0"', '"Customer %d"').replace('"c0@example.com"', '"%s"')
    sample = sample.replace(f'"{CATEGORIES[0]}"', '"%s"', 1)
    return json.dumps(sample)  # a Lua string literal is a JSON string literal here


def wrk_burst(url: str, token: str, seconds: int, connections: int) -> Burst:
    categories = ", ".join(json.dumps(c) for c in CATEGORIES)
    script = WRK_SCRIPT % {"categories": categories, "template": _wrk_template(), "token": token}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "post.lua"
        path.write_text(script)
        out = subprocess.run(
            ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(path), url],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    found = re.search(r"(\d+) requests in ([\d.]+)(m?s)", out)
    if found is None:
        raise RuntimeError(out)
    elapsed = float(found.group(2)) / (1000 if found.group(3) == "ms" else 1)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    latency = " ".join(f"p{m[1]} {m[2]}" for m in re.finditer(r"\s+(50|99)%\s+(\S+)", out))
    errors = int(non_2xx.group(1)) if non_2xx else 0
    if socket_errors:
        latency += f" (socket errors: {socket_errors.group(1)})"
    return Burst("wrk", int(found.group(1)), elapsed, errors, latency)


async def python_burst(url: str, token: str, seconds: float, connections: int) -> Burst:
    latencies: list[float] = []
    errors = 0
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=connections)
    deadline = time.perf_counter() + seconds
    tag = str(time.time_ns())
    counter = iter(range(10**9))
    async with httpx.AsyncClient(headers=headers, limits=limits, timeout=30) as client:

        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                response = await client.post(url, json=body(next(counter), tag))
                latencies.append(time.perf_counter() - started)
                errors += response.status_code != 201

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.perf_counter() - started
    return Burst("python", len(latencies), elapsed, errors, percentiles(latencies))


def percentiles(seconds: list[float]) -> str:
    if len(seconds) < 2:
        return "n/a"
    q = statistics.quantiles(seconds, n=100)
    return f"p50 {q[49] * 1000:.0f}ms p99 {q[98] * 1000:.0f}ms"


async def burst(url: str, token: str, seconds: int, connections: int) -> Burst:
    """POST complaints from `connections` clients for `seconds`, each as fast as answered."""
    if shutil.which("wrk"):
        return await asyncio.to_thread(wrk_burst, url, token, seconds, connections)
    return await python_burst(url, token, seconds, connections)


async def open_loop(url: str, token: str, rate: float, seconds: float) -> dict[str, float]:
    """POST at `rate` per second for `seconds`, not waiting for answers: {complaint id: sent at}.

    The send times are wall-clock (time.time()) so they compare with the services' timestamps.
    """
    sent: dict[str, float] = {}
    failures = 0
    tag = f"o{time.time_ns()}"
    limits = httpx.Limits(max_connections=512, max_keepalive_connections=512)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(headers=headers, limits=limits, timeout=60) as client:

        async def one(i: int) -> None:
            nonlocal failures
            at = time.time()
            try:
                response = await client.post(url, json=body(i, tag))
            except httpx.HTTPError:
                failures += 1
                return
            if response.status_code == 201:
                sent[response.json()["id"]] = at
            else:
                failures += 1

        tasks, start, count = [], time.perf_counter(), int(rate * seconds)
        for i in range(count):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(i)))
        await asyncio.gather(*tasks)
    if failures:
        print(f"  open loop: {failures} of {count} POSTs failed")
    return sent
