"""A problem closes on evidence: no future clock, no back-dated fix, a recorded root cause, and
an effect measured against the rate before the incident rather than against its burst."""

import asyncio
import math
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from services.escalation.problems.actions import run_checks
from tests.service.test_problems import ANALYSIS, PATTERN, add_action, analysed_problem
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
from tests.support.services import app_of


@pytest.fixture
async def escalation(
    env: TestEnv, database: Database, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    config = quick_config(tmp_path)
    async with database("escalation") as url, started(env, url, escalation_file=config) as client:
        yield client


def _code(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


async def test_a_future_clock_and_a_back_dated_fix_are_refused(
    escalation: httpx.AsyncClient,
) -> None:
    problem_id = await analysed_problem(escalation)
    action_id = await add_action(escalation, problem_id)
    path = f"/v1/problems/{problem_id}/actions/{action_id}/complete"
    now = datetime.now(UTC)
    back_dated = await escalation.post(
        path, json={"completed_at": (now - timedelta(days=8)).isoformat()}
    )
    assert _code(back_dated) == (422, "completed_at_before_action")
    # A time without an offset is UTC: a week ahead is still the future.
    naive = (now + timedelta(days=8)).replace(tzinfo=None).isoformat()
    assert _code(await escalation.post(path, json={"completed_at": naive})) == (
        422,
        "completed_at_in_future",
    )
    ahead = await escalation.post(
        path, json={"completed_at": (now + timedelta(days=8)).isoformat()}
    )
    assert _code(ahead) == (422, "completed_at_in_future")
    still = (await escalation.get(f"/v1/problems/{problem_id}")).json()
    assert still["actions"][0]["status"] == "open" and still["fixed_at"] is None
    done = await escalation.post(path, json={})
    assert done.status_code == 200 and done.json()["status"] == "verifying"
    verify = f"/v1/problems/{problem_id}/verify"
    future = await escalation.post(verify, json={"as_of": (now + timedelta(days=8)).isoformat()})
    assert _code(future) == (422, "as_of_in_future")
    # A clock a minute ahead is skew, not the future: it is simply too early to judge.
    skewed = await escalation.post(verify, json={"as_of": (now + timedelta(minutes=1)).isoformat()})
    assert _code(skewed) == (409, "verification_period_not_over")
    assert (await escalation.get(f"/v1/problems/{problem_id}")).json()["status"] == "verifying"


async def test_a_fix_without_a_root_cause_is_not_verified(
    escalation: httpx.AsyncClient, env: TestEnv
) -> None:
    opened = await escalation.post("/v1/problems", json={"title": "K9", "pattern": PATTERN})
    problem_id = opened.json()["id"]
    action_id = await add_action(escalation, problem_id)
    done = await escalation.post(f"/v1/problems/{problem_id}/actions/{action_id}/complete", json={})
    assert done.json()["status"] == "open" and done.json()["fixed_at"] is not None
    fixed_at = datetime.fromisoformat(done.json()["fixed_at"])
    refused = await escalation.post(f"/v1/problems/{problem_id}/verify", json={})
    assert _code(refused) == (409, "root_cause_missing")
    rt = app_of(escalation).state.runtime
    config = app_of(escalation).state.escalation_config
    async with env.probe("problem.#") as probe:
        await run_checks(rt, fixed_at + timedelta(days=8), config)
        assert (await escalation.get(f"/v1/problems/{problem_id}")).json()["status"] == "open"
        analysed = await escalation.post(f"/v1/problems/{problem_id}/analysis", json=ANALYSIS)
        assert analysed.json()["status"] == "verifying"
        await run_checks(rt, fixed_at + timedelta(days=8), config)
        await probe.wait_for("problem.effect_not_shown")
        await asyncio.sleep(0.3)
    assert [e.type for e in probe.events if e.type.startswith("problem.effect")] == [
        "problem.effect_not_shown"
    ]


async def test_a_spike_that_dies_down_by_itself_is_no_effect(
    escalation: httpx.AsyncClient, env: TestEnv
) -> None:
    start = hour_start(30)
    stream = noise(start, hours=24, per_hour=2) + burst(start + timedelta(hours=24), 80, 4)
    events = [received(at=at, **values) for at, values in sorted(stream, key=lambda i: i[0])]
    async with env.probe() as probe:
        async with publisher(env) as bus:
            await bus.publish(*events)
        detected = await probe.wait_for("incident.detected", timeout=60)
        await probe.wait_for("complaint.prioritized", events[-1].complaint_id, timeout=60)
        incident_id = detected.data["incident_id"]
        opened = await escalation.post(
            "/v1/problems", json={"title": "Kettles", "incident_id": incident_id}
        )
        problem_id = opened.json()["id"]
        baseline = opened.json()["baseline_rate"]
        incident = (await escalation.get(f"/v1/incidents/{incident_id}")).json()
        onset = datetime.fromisoformat(opened.json()["onset_at"])
        assert onset == datetime.fromisoformat(incident["first_at"]) and baseline > 0
        await escalation.post(f"/v1/problems/{problem_id}/analysis", json=ANALYSIS)
        action_id = await add_action(escalation, problem_id)
        path = f"/v1/problems/{problem_id}/actions/{action_id}/complete"
        fixed_at = datetime.fromisoformat((await escalation.post(path, json={})).json()["fixed_at"])
        # After the fix the pattern goes back to about its usual rate, as it would have anyway.
        usual = math.ceil(baseline * 7 * 0.75)
        step = timedelta(days=7) / (usual + 1)
        later = [
            received(at=fixed_at + step * (i + 1), product="Kettle K2", region="CA")
            for i in range(usual)
        ]
        async with publisher(env) as bus:
            await bus.publish(*later)
        await probe.wait_for("complaint.prioritized", later[-1].complaint_id, timeout=60)
        rt = app_of(escalation).state.runtime
        config = app_of(escalation).state.escalation_config
        await run_checks(rt, fixed_at + timedelta(days=7, hours=1), config)
        verdict = await probe.wait_for("problem.effect_not_shown")
    body = (await escalation.get(f"/v1/problems/{problem_id}")).json()
    assert body["status"] == "effect_not_shown"
    assert verdict.data["rate_before"] == body["rate_before"] == baseline
    assert body["rate_after"] == round(usual / 7, 3) > baseline / 2
    # Against the burst's own rate the same week after would have read as halved.
    assert body["rate_after"] <= incident["complaint_count"] / 7 / 2
    assert (await escalation.get(f"/v1/incidents/{incident_id}")).json()["status"] != "resolved"
