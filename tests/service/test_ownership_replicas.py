"""Ownership as real OS processes on one PostgreSQL database: SLA events are published once.

Two replicas compete for the same due timers; a replica killed with SIGKILL and started again
still fires a breach that fell due while it was down, and only once.
"""

import asyncio
import os
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from shared.events import new_event
from tests.support.env import Database, TestEnv
from tests.support.ownership import complaint
from tests.support.probe import BusProbe
from tests.support.replica import Replica

# P3 is 0.001 h = 3.6 s round the clock, warned at half of it.
ORGANISATION = """
[case_targets]
hours = { P1 = 0.0005, P2 = 0.0008, P3 = 0.001, P4 = 0.002 }
warning_fraction = 0.5

[teams.general]
name = "General"
lead = "paula"
default = true
owners = [{ id = "ivan", name = "Ivan" }, { id = "judy", name = "Judy" }]
"""


@pytest.fixture
async def replica_env(env: TestEnv, database: Database) -> AsyncIterator[dict[str, str]]:
    if env.backend != "postgresql":
        pytest.skip("replicas share one database server; SQLite is a single-process store")
    organisation = env.tmp / "organisation.toml"
    organisation.write_text(ORGANISATION)
    async with database("ownership") as url:
        yield {
            **os.environ,
            "APP_ENV": "test",
            "BUS_EXCHANGE": env.exchange,
            "BUS_QUEUE_PREFIX": env.queue_prefix,
            "OWNERSHIP_DATABASE_URL": url,
            "ORGANISATION_FILE": str(organisation),
            "OUTBOX_POLL_SECONDS": "0.05",
            "OWNERSHIP_TIMER_POLL_SECONDS": "0.05",
            "LOG_LEVEL": "WARNING",
        }


async def receive(env: TestEnv, count: int) -> list[str]:
    bus = env.publisher()
    await bus.connect()
    ids = [str(uuid.uuid4()) for _ in range(count)]
    try:
        now = datetime.now(UTC)
        await bus.publish(
            *[
                new_event(
                    "complaint.received",
                    complaint(received_at=now),
                    producer="intake",
                    complaint_id=case_id,
                )
                for case_id in ids
            ]
        )
    finally:
        await bus.close()
    return ids


def sla_counts(probe: BusProbe) -> Counter[tuple[str | None, str]]:
    return Counter((e.complaint_id, e.type) for e in probe.events)


async def test_two_replicas_publish_each_sla_event_exactly_once(
    env: TestEnv, replica_env: dict[str, str]
) -> None:
    replicas = [Replica("ownership", replica_env, env.tmp / f"replica{i}.log") for i in range(2)]
    try:
        for replica in replicas:
            await replica.start()  # one after the other: the first one migrates
        async with env.probe("sla.#") as probe:
            ids = await receive(env, 20)
            for case_id in ids:
                await probe.wait_for("sla.breached", case_id, timeout=30)
            await asyncio.sleep(1.0)  # room for a duplicate to show up, if there were one
            counts = sla_counts(probe)
        expected = {(c, t): 1 for c in ids for t in ("sla.warning", "sla.breached")}
        assert dict(counts) == expected
        assert len({e.event_id for e in probe.events}) == len(probe.events)
    finally:
        for replica in replicas:
            replica.stop()


async def test_a_breach_that_falls_due_while_the_service_is_killed_fires_once_after_restart(
    env: TestEnv, replica_env: dict[str, str]
) -> None:
    replica = Replica("ownership", replica_env, env.tmp / "replica.log")
    try:
        await replica.start()
        async with env.probe("#") as probe:
            [case_id] = await receive(env, 1)
            await probe.wait_for("case.assigned", case_id, timeout=15)
            replica.kill()
            await asyncio.sleep(4.5)  # the breach (3.6 s after receipt) is now due
            assert not probe.of_type("sla.breached", case_id)
            await replica.start()
            await probe.wait_for("sla.breached", case_id, timeout=20)
            await asyncio.sleep(1.0)
            assert len(probe.of_type("sla.breached", case_id)) == 1
            assert len(probe.of_type("sla.warning", case_id)) <= 1
            # Kill it again straight after the breach: nothing fires a second time.
            replica.kill()
            await replica.start()
            await asyncio.sleep(1.0)
            assert len(probe.of_type("sla.breached", case_id)) == 1
    finally:
        replica.stop()
