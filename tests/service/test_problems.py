"""Problems and corrective actions: root cause, actions, and a fix that must show its effect."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from services.escalation.problems.actions import run_checks
from tests.support.env import Database, TestEnv
from tests.support.escalation import publisher, received, started
from tests.support.services import app_of, auth, outbox_events

PATTERN = {"pattern": "product+region", "product": "Kettle K9", "region": "TX"}
ANALYSIS = {
    "cause_categories": ["material", "method"],
    "why_chain": ["the kettle leaks", "the seal cracks", "the seal supplier changed"],
    "hypotheses": [
        {"cause": "new seal supplier", "explains_is": True, "explains_is_not": True},
        {"cause": "hard water in TX", "explains_is": True, "explains_is_not": False},
    ],
    "most_probable_cause": "new seal supplier",
}


@pytest.fixture
async def escalation(env: TestEnv, database: Database) -> AsyncIterator[httpx.AsyncClient]:
    async with database("escalation") as url, started(env, url) as client:
        yield client


async def complaints(env: TestEnv, times: list[datetime]) -> None:
    """Complaints of the problem's pattern, received at the given (event) times."""
    events = [received(at=at, product="Kettle K9", region="TX") for at in times]
    async with env.probe("complaint.prioritized") as probe, publisher(env) as bus:
        await bus.publish(*events)
        await probe.wait_for("complaint.prioritized", events[-1].complaint_id, timeout=30)


async def analysed_problem(client: httpx.AsyncClient) -> str:
    """A problem of the pattern whose analysis named a tested cause."""
    opened = await client.post("/v1/problems", json={"title": "Leaking K9", "pattern": PATTERN})
    assert opened.status_code == 201, opened.text
    problem_id = opened.json()["id"]
    untested = {**ANALYSIS, "most_probable_cause": "hard water in TX"}
    refused = await client.post(f"/v1/problems/{problem_id}/analysis", json=untested)
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "cause_not_tested"
    analysed = await client.post(f"/v1/problems/{problem_id}/analysis", json=ANALYSIS)
    assert analysed.json()["status"] == "cause_identified"
    assert analysed.json()["cause"] == "new seal supplier"
    return problem_id


async def add_action(client: httpx.AsyncClient, problem_id: str, owner: str = "frank") -> str:
    action = {
        "kind": "corrective",
        "description": "fix",
        "owner_id": owner,
        "due_at": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
    }
    created = await client.post(f"/v1/problems/{problem_id}/actions", json=action)
    assert created.status_code == 201, created.text
    return str(created.json()["actions"][-1]["id"])


async def fixed_problem(
    client: httpx.AsyncClient, env: TestEnv, after: int
) -> tuple[str, datetime]:
    """A problem with a tested cause and two actions done now: 14 complaints came in the week
    before it was opened, `after` come the day after the fix; returns (problem, fixed_at)."""
    problem_id = await analysed_problem(client)
    ids = []
    for kind, owner in (("corrective", "frank"), ("preventive", "grace")):
        action = {
            "kind": kind,
            "description": "fix",
            "owner_id": owner,
            "due_at": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
        }
        created = await client.post(f"/v1/problems/{problem_id}/actions", json=action)
        assert created.status_code == 201, created.text
        ids.append(created.json()["actions"][-1]["id"])
    settings = app_of(client).state.settings
    as_frank = auth(settings, "owner", "frank")
    stranger = await client.post(
        f"/v1/problems/{problem_id}/actions/{ids[1]}/complete", json={}, headers=as_frank
    )
    assert stranger.status_code == 403
    path = f"/v1/problems/{problem_id}/actions/{ids[0]}/complete"
    first = await client.post(path, json={}, headers=as_frank)
    assert first.json()["status"] == "cause_identified"
    last = await client.post(f"/v1/problems/{problem_id}/actions/{ids[1]}/complete", json={})
    assert last.json()["status"] == "verifying"
    fixed_at = datetime.fromisoformat(last.json()["fixed_at"])
    opened_at = datetime.fromisoformat(last.json()["onset_at"])
    before = [opened_at - timedelta(days=6, hours=i) for i in range(14)]
    later = [fixed_at + timedelta(days=1, hours=i) for i in range(after)]
    await complaints(env, before + later)
    return problem_id, fixed_at


async def test_a_fix_that_halves_the_complaints_closes_the_problem(
    escalation: httpx.AsyncClient, env: TestEnv
) -> None:
    rt = app_of(escalation).state.runtime
    config = app_of(escalation).state.escalation_config
    async with env.probe() as probe:
        problem_id, fixed_at = await fixed_problem(escalation, env, after=2)
        path = f"/v1/problems/{problem_id}/verify"
        early = await escalation.post(path, json={})
        assert early.status_code == 409
        assert early.json()["error"]["code"] == "verification_period_not_over"
        # Seven days of exposure later, the worker (whose clock the test moves) measures it.
        await run_checks(rt, fixed_at + timedelta(days=7, hours=1), config)
        body = (await escalation.get(f"/v1/problems/{problem_id}")).json()
        assert (body["status"], body["rate_before"], body["rate_after"]) == ("closed", 2.0, 0.286)
        event = await probe.wait_for("problem.effect_verified")
        assert event.data["problem_id"] == problem_id and event.data["rate_after"] == 0.286
        for type_, count in (
            ("problem.opened", 1),
            ("problem.cause_identified", 1),
            ("action.created", 2),
            ("action.completed", 2),
        ):
            await probe.wait_for(type_, count=count)
    assert probe.of_type("problem.effect_not_shown") == []
    closed = await escalation.post(path, json={})
    assert closed.status_code == 409 and closed.json()["error"]["code"] == "problem_not_fixed"


async def test_a_fix_without_effect_is_flagged_and_stays_open(
    escalation: httpx.AsyncClient, env: TestEnv
) -> None:
    rt = app_of(escalation).state.runtime
    config = app_of(escalation).state.escalation_config
    async with env.probe("problem.#") as probe:
        problem_id, fixed_at = await fixed_problem(escalation, env, after=10)
        await run_checks(rt, fixed_at + timedelta(days=3), config)
        assert (await escalation.get(f"/v1/problems/{problem_id}")).json()["status"] == "verifying"
        # The worker's clock moves past the period after the fix: it measures by itself.
        await run_checks(rt, fixed_at + timedelta(days=8), config)
        event = await probe.wait_for("problem.effect_not_shown")
    assert (event.data["rate_before"], event.data["rate_after"]) == (2.0, 1.429)
    body = (await escalation.get(f"/v1/problems/{problem_id}")).json()
    assert body["status"] == "effect_not_shown"
    listed = await escalation.get("/v1/problems", params={"status": "effect_not_shown"})
    assert [p["id"] for p in listed.json()] == [problem_id]


async def test_an_overdue_action_is_escalated_once(
    escalation: httpx.AsyncClient, env: TestEnv
) -> None:
    now = datetime.now(UTC)
    opened = await escalation.post("/v1/problems", json={"title": "Late", "pattern": PATTERN})
    problem_id = opened.json()["id"]
    action = {
        "kind": "corrective",
        "description": "replace seals",
        "owner_id": "frank",
        "due_at": (now + timedelta(hours=2)).isoformat(),
    }
    await escalation.post(f"/v1/problems/{problem_id}/actions", json=action)
    rt = app_of(escalation).state.runtime
    config = app_of(escalation).state.escalation_config
    async with env.probe("case.escalated.#") as probe:
        await run_checks(rt, now, config)
        for _ in range(2):
            await run_checks(rt, now + timedelta(hours=3), config)
        await probe.wait_for("case.escalated", count=2)
        await asyncio.sleep(0.3)
    sent = probe.of_type("case.escalated")
    assert [(e.data["level"], e.data["to"]) for e in sent] == [
        ("owner", "frank"),
        ("head_of_department", "head-customer-care"),
    ]
    assert "overdue" in sent[0].data["reason"]


async def test_bad_problem_requests_are_refused_with_a_code(escalation: httpx.AsyncClient) -> None:
    settings = app_of(escalation).state.settings
    no_pattern = await escalation.post("/v1/problems", json={"title": "x"})
    assert (
        no_pattern.status_code == 422 and no_pattern.json()["error"]["code"] == "pattern_required"
    )
    half = {"title": "x", "pattern": {"pattern": "product+region", "product": "K"}}
    incomplete = await escalation.post("/v1/problems", json=half)
    assert incomplete.json()["error"]["code"] == "pattern_incomplete"
    as_owner = auth(settings, "owner", "frank")
    refused = await escalation.post(
        "/v1/problems", json={"title": "x", "pattern": PATTERN}, headers=as_owner
    )
    assert refused.status_code == 403
    missing = await escalation.get("/v1/problems/nope")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "problem_not_found"
    unknown = await escalation.post("/v1/problems", json={"title": "x", "incident_id": "nope"})
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "incident_not_found"
    assert (await escalation.get("/v1/problems")).json() == []


async def test_an_idempotency_key_opens_one_problem(escalation: httpx.AsyncClient) -> None:
    settings = app_of(escalation).state.settings
    key = {"Idempotency-Key": str(uuid.uuid4())}
    body = {"title": "Leaking K9", "pattern": PATTERN}
    first, again = [await escalation.post("/v1/problems", json=body, headers=key) for _ in range(2)]
    other = await escalation.post("/v1/problems", json={**body, "title": "Drips"}, headers=key)
    colleague = {**auth(settings, "supervisor", "sup-2"), **key}
    elsewhere = await escalation.post("/v1/problems", json=body, headers=colleague)
    assert first.status_code == again.status_code == 201, first.text
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    for refused in (other, elsewhere):
        assert refused.status_code == 409
        assert refused.json()["error"]["code"] == "idempotency_key_reused"
    listed = (await escalation.get("/v1/problems")).json()
    assert [p["id"] for p in listed] == [first.json()["id"]]
    assert len(await outbox_events(escalation, "problem.opened")) == 1
    plain = [await escalation.post("/v1/problems", json=body) for _ in range(2)]
    assert [r.status_code for r in plain] == [201, 201]
    assert len({first.json()["id"], *(r.json()["id"] for r in plain)}) == 3
    assert len(await outbox_events(escalation, "problem.opened")) == 3


async def test_an_idempotency_key_adds_one_action_per_problem(
    escalation: httpx.AsyncClient,
) -> None:
    ids = []
    for title in ("Leaking K9", "Late"):
        opened = await escalation.post("/v1/problems", json={"title": title, "pattern": PATTERN})
        ids.append(opened.json()["id"])
    action = {
        "kind": "corrective",
        "description": "replace seals",
        "owner_id": "frank",
        "due_at": (datetime.now(UTC) + timedelta(days=3)).isoformat(),
    }
    path, key = f"/v1/problems/{ids[0]}/actions", {"Idempotency-Key": str(uuid.uuid4())}
    first, again = [await escalation.post(path, json=action, headers=key) for _ in range(2)]
    other = await escalation.post(path, json={**action, "owner_id": "grace"}, headers=key)
    plain = [await escalation.post(path, json=action) for _ in range(2)]
    late = await escalation.post(path, json=action, headers=key)
    same_key_elsewhere = await escalation.post(
        f"/v1/problems/{ids[1]}/actions", json=action, headers=key
    )
    assert first.status_code == again.status_code == late.status_code == 201, first.text
    assert again.json() == first.json() == late.json() and len(first.json()["actions"]) == 1
    assert again.headers["Idempotent-Replayed"] == late.headers["Idempotent-Replayed"] == "true"
    assert other.status_code == 409 and other.json()["error"]["code"] == "idempotency_key_reused"
    assert [r.status_code for r in plain] == [201, 201]
    assert same_key_elsewhere.status_code == 201
    assert "Idempotent-Replayed" not in same_key_elsewhere.headers
    problem = (await escalation.get(f"/v1/problems/{ids[0]}")).json()
    assert len({a["id"] for a in problem["actions"]}) == 3
    assert first.json()["actions"][0]["id"] in {a["id"] for a in problem["actions"]}
    created = await outbox_events(escalation, "action.created")
    assert sorted(e.data["problem_id"] for e in created) == sorted([ids[0]] * 3 + [ids[1]])
