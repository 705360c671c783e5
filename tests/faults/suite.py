"""`make faults`: faults injected one after another under load, then what must hold, checked.

python -m tests.faults.suite [--short]
Exit status 1 if any complaint was lost, duplicated or dead-lettered.
"""

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from tests.faults.checks import Findings, inspect
from tests.faults.infra import PrivatePostgres, PrivateRabbit
from tests.faults.load import Load
from tests.faults.system import SERVICES, Services
from tests.support.mail import MailSink


def plan(
    pg: PrivatePostgres, rabbit: PrivateRabbit, system: Services, short: bool
) -> list[tuple[str, Callable[[], None]]]:
    def outage(seconds: float) -> Callable[[], None]:
        def run() -> None:
            pg.down()
            time.sleep(seconds)
            pg.up()

        return run

    def kill(service: str) -> Callable[[], None]:
        def run() -> None:
            system.kill9(service)
            time.sleep(1)
            system.start(service)
            system.wait_ready(service)

        return run

    faults: list[tuple[str, Callable[[], None]]] = [
        ("PostgreSQL restart", pg.restart),
        ("RabbitMQ stop_app/start_app", lambda: rabbit.restart(3)),
    ]
    if not short:
        faults.append(("PostgreSQL down 60 s", outage(60)))
    services = ["ownership", "confirmation"] if short else SERVICES
    faults += [(f"kill -9 {s}", kill(s)) for s in services]
    return faults


async def run(short: bool, base: Path) -> int:
    pg, rabbit = PrivatePostgres(base), PrivateRabbit(base)
    with MailSink() as mail:
        try:
            pg.start()
            await pg.create_databases([f"faults_{s}" for s in SERVICES])
            rabbit.start()
            system = Services(base, pg, rabbit, mail.port)
            try:
                await asyncio.to_thread(system.start_all)
                load = Load(system, mail)
                workers = [
                    asyncio.create_task(load.complaints(rate=4 if short else 6)),
                    asyncio.create_task(load.replies()),
                ]
                gap = 5 if short else 10
                await asyncio.sleep(gap)
                for name, fault in plan(pg, rabbit, system, short):
                    load.window = name
                    print(f"fault: {name}", flush=True)
                    await asyncio.to_thread(fault)
                    await asyncio.sleep(gap)
                load.window = "after"
                load.running = False
                await asyncio.gather(*workers)
                findings = await settle(pg, load, rabbit.admin_url, 60 if short else 120)
                return report(load, findings)
            finally:
                system.close()
        finally:
            rabbit.close()
            pg.close()


async def settle(pg: PrivatePostgres, load: Load, amqp_url: str, seconds: float) -> Findings:
    """Wait (bounded) until every complaint has its case and every yes closed its case."""
    deadline = time.monotonic() + seconds
    while True:
        findings = await inspect(pg, load, amqp_url, drain=False)
        if findings.settled(load) or time.monotonic() > deadline:
            return await inspect(pg, load, amqp_url, drain=True)
        await asyncio.sleep(2)


def report(load: Load, f: Findings) -> int:
    windows = list(dict.fromkeys(["start", *load.errors, *load.posted.values()]))
    head = f"{'fault injected':<30} {'complaints':>10} {'lost':>5} {'dup':>5} {'dead':>5}  errors"
    print("\n" + head + "\n" + "-" * len(head))
    unplaced = Counter(f.dead)
    for w in windows:
        ids = {c for c, win in load.posted.items() if win == w}
        lost = len(f.lost & ids)
        dup = sum(n for c, n in f.duplicated.items() if c in ids)
        dead = sum(unplaced.pop(c, 0) for c in ids)
        errors = ", ".join(f"{n}x {s}" for s, n in sorted(load.errors[w].items())) or "-"
        if load.gave_up[w]:
            errors += f"; {load.gave_up[w]} gave up"
        print(f"{w:<30} {len(ids):>10} {lost:>5} {dup:>5} {dead:>5}  {errors}")
    other_dead = sum(unplaced.values())
    lost, dup = len(f.lost), sum(f.duplicated.values())
    dead = sum(f.dead.values())
    print(
        f"\ntotal: {len(f.stored)} stored, {lost} lost, {dup} duplicated, {dead} dead-lettered "
        f"({other_dead} not of a posted complaint; by queue {dict(f.dead_by_queue)}), "
        f"{len(load.replied)} customer yes, {len(f.not_closed)} of them not closed"
    )
    for why in f.why_duplicated:
        print(f"duplicated: {why}")
    return 1 if lost or dup or dead or f.not_closed else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--short", action="store_true", help="the ~2 minute version")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (logs)")
    opts = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="faults-"))
    base.chmod(0o755)
    print(f"fault suite in {base}", flush=True)
    try:
        code = asyncio.run(run(opts.short, base))
    except KeyboardInterrupt:
        code = 130
    finally:
        if not opts.keep:
            shutil.rmtree(base, ignore_errors=True)
    sys.exit(code)


if __name__ == "__main__":
    main()
