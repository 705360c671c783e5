"""Incidents on a freshly started system, with no history at all, on the real broker and
databases: a burst among its peers is seen at once; steady noise raises nothing."""

import asyncio
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from shared.events import Envelope
from tests.support.env import Database, TestEnv
from tests.support.escalation import PRODUCTS, REGIONS, publisher, received, started
from tests.support.services import app_of


@pytest.fixture
async def escalation(env: TestEnv, database: Database) -> AsyncIterator[httpx.AsyncClient]:
    # The shipped configuration, warm-up and all: nothing here has 48 hours of history.
    async with database("escalation") as url, started(env, url) as client:
        yield client


def ordinary(start: datetime, count: int, minutes: int, seed: int = 5) -> list[Envelope]:
    rnd = random.Random(seed)
    step = timedelta(minutes=minutes / count)
    return [
        received(
            at=start + step * i,
            product=rnd.choice(PRODUCTS),
            category="appliances",
            region=rnd.choice(REGIONS),
        )
        for i in range(count)
    ]


def spike(start: datetime, spellings: list[tuple[str, str]], count: int = 30) -> list[Envelope]:
    step = timedelta(minutes=10 / count)
    return [
        received(at=start + step * i, product=p, category="appliances", region=r)
        for i, (p, r) in enumerate(spellings[i % len(spellings)] for i in range(count))
    ]


async def replay(env: TestEnv, events: list[Envelope]) -> Any:
    async with env.probe() as probe, publisher(env) as bus:
        await bus.publish(*events)
        await probe.wait_for("complaint.prioritized", events[-1].complaint_id, timeout=60)
        await asyncio.sleep(0.3)
    return probe


async def test_a_burst_among_ordinary_complaints_raises_one_incident_at_once(
    escalation: httpx.AsyncClient, env: TestEnv
) -> None:
    start = datetime.now(UTC) - timedelta(hours=2)
    background = ordinary(start, 40, minutes=90)
    burst = spike(start + timedelta(minutes=95), [("Kettle K1", "CA")])
    probe = await replay(env, [*background, *burst])
    detected = probe.of_type("incident.detected")
    assert len(detected) == 1, [e.data["pattern"] for e in detected]
    data = detected[0].data
    assert data["pattern"] == {"pattern": "product+region", "product": "Kettle K1", "region": "CA"}
    assert data["raised_by"] == "cross_sectional"
    assert data["evidence"]["temporal"] is None
    assert data["evidence"]["cross_sectional"]["recent"] >= 10
    # Seen within the burst, not after it: most of it joined the open incident as it came.
    burst_ids = {e.complaint_id for e in burst}
    assert len(burst_ids & set(data["complaint_ids"])) < len(burst_ids)
    linked = set(data["complaint_ids"]) | {
        i for e in probe.of_type("incident.updated") for i in e.data["complaint_ids"]
    }
    assert burst_ids <= linked
    body = (await escalation.get(f"/v1/incidents/{data['incident_id']}")).json()
    assert body["raised_by"] == "cross_sectional"
    settings = app_of(escalation).state.escalation_config.detector.cross
    assert body["evidence"]["cross_sectional"]["z"] >= settings.min_z
    assert set(body["is_not"]["what"]["other_products"]) == {
        "Kettle K2",
        "Toaster T1",
        "Blender B1",
    }
    assert {"OR", "NV", "WA"} <= set(body["is_not"]["where"]["other_regions"])


async def test_a_burst_spelt_many_ways_is_one_key(
    escalation: httpx.AsyncClient, env: TestEnv
) -> None:
    start = datetime.now(UTC) - timedelta(hours=2)
    spellings = [
        ("Kettle K1", "CA"),
        ("kettle k-1", "ca"),
        ("KETTLE  K1", "CA."),
        ("kettle_k1", "Ca"),
    ]
    burst = spike(start + timedelta(minutes=95), spellings)
    probe = await replay(env, [*ordinary(start, 40, minutes=90, seed=9), *burst])
    detected = probe.of_type("incident.detected")
    assert len(detected) == 1, [e.data["pattern"] for e in detected]
    assert detected[0].data["pattern"]["product"] == "Kettle K1"
    incident = (await escalation.get(f"/v1/incidents/{detected[0].data['incident_id']}")).json()
    assert {e.complaint_id for e in burst} <= set(incident["complaint_ids"])


async def test_steady_noise_over_many_keys_on_a_fresh_system_raises_nothing(
    escalation: httpx.AsyncClient, env: TestEnv
) -> None:
    rnd = random.Random(17)
    start = datetime.now(UTC) - timedelta(hours=6)
    events = [
        received(
            at=start + timedelta(minutes=i),
            product=f"Model {rnd.randrange(15)}",
            category=rnd.choice(["appliances", "billing", "delivery"]),
            region=f"Region {rnd.randrange(12)}",
        )
        for i in range(300)
    ]
    await replay(env, events)
    assert (await escalation.get("/v1/incidents")).json() == []
