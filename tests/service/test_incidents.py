"""Incidents raised from the stream of received complaints, on the real broker and databases."""

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.escalation.problems.actions import run_checks
from shared.events import Envelope
from tests.support.env import Database, TestEnv
from tests.support.escalation import (
    burst,
    hour_start,
    noise,
    publisher,
    quick_config,
    received,
    started,
)
from tests.support.services import app_of, auth


@pytest.fixture
async def escalation(
    env: TestEnv, database: Database, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    config = quick_config(tmp_path)
    async with database("escalation") as url, started(env, url, escalation_file=config) as client:
        yield client


def as_events(stream: list[tuple[Any, dict[str, str]]]) -> list[Envelope]:
    return [received(at=at, **values) for at, values in sorted(stream, key=lambda i: i[0])]


async def replay(env: TestEnv, events: list[Envelope]) -> None:
    async with publisher(env) as bus:
        await bus.publish(*events)


async def test_a_burst_raises_one_incident_with_is_and_is_not(
    escalation: httpx.AsyncClient, env: TestEnv
) -> None:
    start = hour_start(30)
    background = as_events(noise(start, hours=24, per_hour=3))
    spike = as_events(burst(start + timedelta(hours=24), 12))
    sentinel = received(at=start + timedelta(hours=27), product="Toaster T1", region="WA")
    async with env.probe() as probe:
        await replay(env, [*background, *spike, sentinel])
        await probe.wait_for("complaint.prioritized", sentinel.complaint_id, timeout=60)
        await asyncio.sleep(0.3)
    detected = probe.of_type("incident.detected")
    assert len(detected) == 1, [e.data["pattern"] for e in detected]
    data = detected[0].data
    assert data["pattern"] == {"pattern": "product+region", "product": "Kettle K2", "region": "CA"}
    spike_ids = {e.complaint_id for e in spike}
    assert set(data["complaint_ids"]) <= spike_ids | {e.complaint_id for e in background}
    assert len(set(data["complaint_ids"]) & spike_ids) >= 8
    assert data["is"]["what"]["product"] == "Kettle K2" and data["is"]["where"] == {"region": "CA"}
    assert {"OR", "NV", "AZ"} <= set(data["is_not"]["where"]["other_regions"])
    assert set(data["is_not"]["what"]["other_products"]) == {
        "Kettle K1",
        "Toaster T1",
        "Blender B1",
    }
    # The rest of the burst joined the open incident, each one announced.
    updates = probe.of_type("incident.updated")
    linked = set(data["complaint_ids"]) | {i for e in updates for i in e.data["complaint_ids"]}
    assert spike_ids <= linked
    incident_id = data["incident_id"]
    raised = [
        e
        for e in probe.of_type("complaint.prioritized")
        if f"part of incident {incident_id}" in e.data["reasons"]
    ]
    assert {e.complaint_id for e in raised} == linked
    assert all(e.data["priority"] == "P2" for e in raised)
    body = (await escalation.get(f"/v1/incidents/{incident_id}")).json()
    assert body["status"] == "open" and set(body["complaint_ids"]) == linked
    assert body["complaint_count"] == len(linked)
    assert body["distinctions"][0].startswith("only product Kettle K2, not ")
    one = spike[-1].complaint_id
    priority = (await escalation.get(f"/v1/priorities/{one}")).json()
    assert (
        priority["priority"] == "P2"
        and priority["reasons"][-1] == f"part of incident {incident_id}"
    )
    listed = (await escalation.get("/v1/incidents", params={"status": "open"})).json()
    assert [i["id"] for i in listed] == [incident_id]


async def test_steady_noise_raises_no_incident(escalation: httpx.AsyncClient, env: TestEnv) -> None:
    start = hour_start(40)
    events = as_events(noise(start, hours=36, per_hour=2, seed=11))
    async with env.probe("complaint.prioritized") as probe:
        await replay(env, events)
        await probe.wait_for("complaint.prioritized", events[-1].complaint_id, timeout=60)
    assert (await escalation.get("/v1/incidents")).json() == []


async def test_supervisors_confirm_merge_and_dismiss_incidents(
    escalation: httpx.AsyncClient, env: TestEnv
) -> None:
    start = hour_start(30)
    background = as_events(noise(start, hours=24, per_hour=2))
    first = as_events(burst(start + timedelta(hours=24), 12))
    other = [
        received(at=at, product="Toaster T1", region="NV")
        for at, _ in burst(start + timedelta(hours=25), 12)
    ]
    async with env.probe() as probe:
        await replay(env, [*background, *first, *other])
        await probe.wait_for("incident.detected", count=2, timeout=60)
        ids = [e.data["incident_id"] for e in probe.of_type("incident.detected")]
        settings = app_of(escalation).state.settings
        as_owner = auth(settings, "owner", "alice")
        refused = await escalation.post(f"/v1/incidents/{ids[0]}/confirm", headers=as_owner)
        assert refused.status_code == 403
        confirmed = await escalation.post(f"/v1/incidents/{ids[0]}/confirm")
        assert confirmed.status_code == 200 and confirmed.json()["status"] == "confirmed"
        again = await escalation.post(f"/v1/incidents/{ids[0]}/confirm")
        assert again.status_code == 409 and again.json()["error"]["code"] == "incident_not_open"
        merged = await escalation.post(f"/v1/incidents/{ids[1]}/merge", json={"into": ids[0]})
        assert merged.status_code == 200, merged.text
        assert merged.json()["complaint_count"] == len(merged.json()["complaint_ids"]) >= 18
        source = (await escalation.get(f"/v1/incidents/{ids[1]}")).json()
        assert (source["status"], source["merged_into"]) == ("merged", ids[0])
        await probe.wait_for("incident.updated", where=lambda e: e.data["status"] == "merged")
        opened = await escalation.post(
            "/v1/problems", json={"title": "Kettles in CA", "incident_id": ids[0]}
        )
        assert opened.status_code == 201, opened.text
        first_pattern = probe.of_type("incident.detected")[0].data["pattern"]
        assert opened.json()["pattern"] == first_pattern
        event = await probe.wait_for("problem.opened")
        assert event.data["incident_id"] == ids[0]
        dismissed = await escalation.post(f"/v1/incidents/{ids[0]}/dismiss")
        assert dismissed.json()["status"] == "dismissed"
        await probe.wait_for("incident.updated", where=lambda e: e.data["status"] == "dismissed")
        # The dismissed pattern keeps coming for a while: it is not raised again at once.
        more = [
            received(at=at, **values)
            for at, values in burst(start + timedelta(hours=26), 6)
            + [
                (at, {"product": "Toaster T1", "category": "appliances", "region": "NV"})
                for at, _ in burst(start + timedelta(hours=26), 6)
            ]
        ]
        await replay(env, more)
        await probe.wait_for("complaint.prioritized", more[-1].complaint_id)
        await asyncio.sleep(0.3)
        assert len(probe.of_type("incident.detected")) == 2
    missing = await escalation.post("/v1/incidents/nope/merge", json={"into": ids[0]})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "incident_not_found"
    bad = await escalation.post(f"/v1/incidents/{ids[0]}/merge", json={})
    assert bad.status_code == 422


async def test_an_incident_whose_problem_was_fixed_is_resolved(
    escalation: httpx.AsyncClient, env: TestEnv
) -> None:
    start = hour_start(30)
    events = as_events(noise(start, hours=24, per_hour=3) + burst(start + timedelta(hours=24), 12))
    async with env.probe() as probe:
        await replay(env, events)
        detected = await probe.wait_for("incident.detected", timeout=60)
        incident_id = detected.data["incident_id"]
        await probe.wait_for("complaint.prioritized", events[-1].complaint_id)
        problem = await escalation.post(
            "/v1/problems", json={"title": "Kettles", "incident_id": incident_id}
        )
        problem_id = problem.json()["id"]
        analysis = {
            "cause_categories": ["material"],
            "why_chain": ["the kettle fails", "a batch of elements was faulty"],
            "hypotheses": [{"cause": "faulty batch", "explains_is": True, "explains_is_not": True}],
            "most_probable_cause": "faulty batch",
        }
        analysed = await escalation.post(f"/v1/problems/{problem_id}/analysis", json=analysis)
        assert analysed.status_code == 200, analysed.text
        action = {
            "kind": "corrective",
            "description": "recall",
            "owner_id": "frank",
            "due_at": (hour_start(0) + timedelta(days=1)).isoformat(),
        }
        created = await escalation.post(f"/v1/problems/{problem_id}/actions", json=action)
        action_id = created.json()["actions"][0]["id"]
        path = f"/v1/problems/{problem_id}/actions/{action_id}/complete"
        done = await escalation.post(path, json={})
        assert done.json()["status"] == "verifying", done.text
        fixed_at = datetime.fromisoformat(done.json()["fixed_at"])
        # A week without the pattern after the fix, on the worker's clock.
        rt = app_of(escalation).state.runtime
        config = app_of(escalation).state.escalation_config
        await run_checks(rt, fixed_at + timedelta(days=8), config)
        verified = (await escalation.get(f"/v1/problems/{problem_id}")).json()
        assert verified["status"] == "closed", verified
        assert verified["rate_before"] == verified["baseline_rate"] > 0
        assert verified["rate_after"] == 0
        await probe.wait_for(
            "incident.updated",
            where=lambda e: e.data["incident_id"] == incident_id and e.data["status"] == "resolved",
        )
    assert (await escalation.get(f"/v1/incidents/{incident_id}")).json()["status"] == "resolved"


async def test_an_incident_leaves_a_supervisors_priority_alone(
    escalation: httpx.AsyncClient, env: TestEnv
) -> None:
    start = hour_start(30)
    background = as_events(noise(start, hours=24, per_hour=3))
    spike = as_events(burst(start + timedelta(hours=24), 12))
    sentinel = received(at=start + timedelta(hours=27), product="Toaster T1", region="WA")
    first = str(spike[0].complaint_id)
    async with env.probe() as probe:
        await replay(env, [*background, spike[0]])
        await probe.wait_for("complaint.prioritized", first, timeout=60)
        override = {"priority": "P4", "reason": "The customer asked us to wait for the statement."}
        assert (await escalation.put(f"/v1/priorities/{first}", json=override)).status_code == 200
        await replay(env, [*spike[1:], sentinel])
        await probe.wait_for("complaint.prioritized", sentinel.complaint_id, timeout=60)
        await asyncio.sleep(0.3)
    (detected,) = probe.of_type("incident.detected")
    updates = probe.of_type("incident.updated")
    linked = set(detected.data["complaint_ids"]) | {
        i for e in updates for i in e.data["complaint_ids"]
    }
    assert first in linked
    announced = probe.of_type("complaint.prioritized", first)
    assert [e.data["overridden_by"] for e in announced] == [None, "sup-1"]
    priority = (await escalation.get(f"/v1/priorities/{first}")).json()
    assert priority["priority"] == "P4" and priority["overridden_by"] == "sup-1"
    # The others of the burst were raised as before.
    assert (await escalation.get(f"/v1/priorities/{spike[-1].complaint_id}")).json()[
        "priority"
    ] == "P2"
