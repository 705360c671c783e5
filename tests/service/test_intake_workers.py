"""Intake as several worker processes (INTAKE_WORKERS) on one PostgreSQL database: each complaint
is published once although every worker runs an outbox relay, and the workers end with their
supervisor, so a `kill -9` leaves no process holding the port."""

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from services.intake.settings import IntakeSettings
from shared.auth import mint_token
from tests.support.infra import (
    AMQP_URL,
    broker_users,
    delete_broker_objects,
    grant_topics,
    postgres_database,
    run_id,
)
from tests.support.mail import free_port
from tests.support.probe import BusProbe

ROOT = Path(__file__).resolve().parents[2]


def test_one_worker_on_sqlite_else_the_setting_or_the_cores() -> None:
    assert IntakeSettings(database_url=None, workers=4).worker_count() == 1
    pg = "postgresql+asyncpg://u@h/db"
    assert IntakeSettings(database_url=pg, workers=3).worker_count() == 3
    cores = len(os.sched_getaffinity(0))
    assert IntakeSettings(database_url=pg).worker_count() == cores
    assert IntakeSettings(database_url=pg, workers="").worker_count() == cores


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _body(i: int) -> dict[str, object]:
    email = f"w{i}@example.com"
    return {
        "customer": {"name": f"Customer {i}", "email": email},
        "channel": "email",
        "contact": email,
        "category": "billing",
        "description": "Charged twice.",
    }


@pytest.mark.e2e
async def test_two_workers_publish_each_complaint_once_and_die_with_their_supervisor() -> None:
    run, port, secret = run_id(), free_port(), "workers-secret-" + run_id() * 4
    exchange, prefix = f"complaints.t{run}", f"t{run}."
    async with postgres_database(f"t_{run}_intake") as url:
        await grant_topics(exchange)
        env = {
            **os.environ,
            **broker_users(),
            "APP_ENV": "test",
            "INTAKE_DATABASE_URL": url,
            "INTAKE_PORT": str(port),
            "INTAKE_WORKERS": "2",
            "AUTH_SECRET": secret,
            "BUS_EXCHANGE": exchange,
            "BUS_QUEUE_PREFIX": prefix,
            "OUTBOX_POLL_SECONDS": "0.05",
        }
        proc = subprocess.Popen([sys.executable, "-m", "services.intake"], cwd=ROOT, env=env)
        base = f"http://127.0.0.1:{port}"
        workers: list[int] = []
        headers = {"Authorization": f"Bearer {mint_token(secret, 'frontend', 'desk')}"}
        try:
            async with httpx.AsyncClient(base_url=base, headers=headers, timeout=10) as client:
                for _ in range(300):
                    try:
                        if (await client.get("/readyz")).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    await asyncio.sleep(0.2)
                async with BusProbe(AMQP_URL, exchange, "complaint.#") as probe:
                    answers = await asyncio.gather(
                        *(client.post("/v1/complaints", json=_body(i)) for i in range(60))
                    )
                    assert [a.status_code for a in answers] == [201] * 60
                    await probe.wait_for("complaint.received", count=60, timeout=30)
                    await asyncio.sleep(1.0)  # a second relay publishing the same row shows now
                    ids = [str(e.complaint_id) for e in probe.of_type("complaint.received")]
            assert sorted(ids) == sorted(a.json()["id"] for a in answers)
            workers = _children(proc.pid)
            assert len(workers) >= 2  # the two workers (and multiprocessing's helper)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)
            for _ in range(100):
                if not any(_alive(w) for w in workers):
                    break
                await asyncio.sleep(0.1)
            assert not any(_alive(w) for w in workers)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
            for worker in workers:
                if _alive(worker):
                    os.kill(worker, signal.SIGKILL)
            await delete_broker_objects(exchange, prefix, [])
