"""The catalogue on the real broker and databases: "CA" and "California" are one region, an
unknown value is kept and reported, and an admin maps it to an entry."""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.service.test_incidents_fresh import ordinary, spike
from tests.support.env import Database, TestEnv
from tests.support.escalation import publisher, received, started
from tests.support.services import app_of, auth


@pytest.fixture
async def escalation(env: TestEnv, database: Database) -> AsyncIterator[httpx.AsyncClient]:
    async with database("escalation") as url, started(env, url) as client:
        settings = app_of(client).state.settings
        client.headers.update(auth(settings, "admin", "root"))
        yield client


async def test_a_burst_written_ca_and_california_is_one_region(
    escalation: httpx.AsyncClient, env: TestEnv
) -> None:
    start = datetime.now(UTC) - timedelta(hours=2)
    spellings = [("Kettle K1", "CA"), ("kettle k-1", "California"), ("Kettle K1", "california")]
    burst = spike(start + timedelta(minutes=95), spellings)
    events = [*ordinary(start, 40, minutes=90), *burst]
    async with env.probe() as probe, publisher(env) as bus:
        await bus.publish(*events)
        await probe.wait_for("complaint.prioritized", events[-1].complaint_id, timeout=60)
        await asyncio.sleep(0.3)
    detected = probe.of_type("incident.detected")
    assert [e.data["pattern"] for e in detected] == [
        {"pattern": "product+region", "product": "Kettle K1", "region": "CA"}
    ]
    incident = (await escalation.get(f"/v1/incidents/{detected[0].data['incident_id']}")).json()
    assert {e.complaint_id for e in burst} <= set(incident["complaint_ids"])
    # The catalogue's neighbours and parent are named even without complaints of their own.
    assert {"AZ", "US"} <= set(incident["is_not"]["where"]["other_regions"])


async def test_admins_list_the_catalogue_and_map_unknown_values(
    escalation: httpx.AsyncClient, env: TestEnv
) -> None:
    settings = app_of(escalation).state.settings
    for role in ("supervisor", "analyst"):
        refused = await escalation.get("/v1/catalogue", headers=auth(settings, role, "x"))
        assert refused.status_code == 403
    listed = (await escalation.get("/v1/catalogue")).json()
    california = next(r for r in listed["region"] if r["id"] == "CA")
    assert california["name"] == "California" and california["parent"] == "US"
    assert {"OR", "NV", "AZ"} == set(california["neighbours"])
    events = [received(region="Golden State"), received(region="golden-state"), received()]
    async with env.probe() as probe, publisher(env) as bus:
        await bus.publish(*events)
        await probe.wait_for("complaint.prioritized", events[-1].complaint_id, timeout=30)
        for event in events:
            await probe.wait_for("complaint.prioritized", event.complaint_id, timeout=30)
    unknown = (await escalation.get("/v1/catalogue/unknown", params={"dimension": "region"})).json()
    assert [(u["key"], u["value"], u["seen"]) for u in unknown] == [
        ("goldenstate", "Golden State", 2)
    ]
    path = "/v1/catalogue/region/CA/aliases"
    added = await escalation.post(path, json={"alias": "Golden State"})
    assert added.status_code == 201, added.text
    assert [a["alias"] for a in added.json()["added_aliases"]] == ["Golden State"]
    again = await escalation.post(path, json={"alias": "GOLDEN STATE"})
    assert again.status_code == 200
    taken = await escalation.post(path, json={"alias": "Oregon"})
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "alias_taken"
    missing = await escalation.post("/v1/catalogue/region/XX/aliases", json={"alias": "Nowhere"})
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "catalogue_entry_not_found"
    bad = await escalation.post("/v1/catalogue/colour/red/aliases", json={"alias": "x"})
    assert bad.status_code == 422
    empty = await escalation.post(path, json={"alias": "--"})
    assert empty.status_code == 422 and empty.json()["error"]["code"] == "alias_empty"
    forbidden = await escalation.post(
        path, json={"alias": "Cali"}, headers=auth(settings, "supervisor", "sup-1")
    )
    assert forbidden.status_code == 403
    assert (await escalation.get("/v1/catalogue/unknown")).json() == []


async def test_a_problem_for_a_pattern_counts_under_the_canonical_values(
    escalation: httpx.AsyncClient,
) -> None:
    pattern = {"pattern": "product+region", "product": "kettle k-1", "region": "California"}
    opened = await escalation.post("/v1/problems", json={"title": "Kettles", "pattern": pattern})
    assert opened.status_code == 201, opened.text
    assert opened.json()["pattern"] == {
        "pattern": "product+region",
        "product": "Kettle K1",
        "region": "CA",
    }
