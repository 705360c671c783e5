"""Escalation's problem checks from two replicas on one PostgreSQL database: once each.

Two instances of the service, each with its own engine and connection pool, run their check
passes at the same moment, round after round: a fix's effect is measured and announced once,
an overdue action escalated once per step, and no pass fails on the other's work.
"""

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from services.escalation.problems.actions import run_checks
from tests.service.test_problems import PATTERN, fixed_problem
from tests.support.env import Database, TestEnv
from tests.support.escalation import started
from tests.support.services import app_of, outbox_events

ROUNDS = 5


async def test_two_replicas_verify_a_fix_and_escalate_an_overdue_action_once(
    env: TestEnv, database: Database
) -> None:
    if env.backend != "postgresql":
        pytest.skip("replicas share one database server; SQLite is a single-process store")
    async with database("escalation") as url, started(env, url) as one, started(env, url) as two:
        problem_id, fixed_at = await fixed_problem(one, env, after=2)
        late = await one.post("/v1/problems", json={"title": "Late", "pattern": PATTERN})
        action = {
            "kind": "corrective",
            "description": "replace seals",
            "owner_id": "frank",
            "due_at": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
        }
        added = await one.post(f"/v1/problems/{late.json()['id']}/actions", json=action)
        assert added.status_code == 201, added.text
        as_of = fixed_at + timedelta(days=8)
        passes = [
            run_checks(app_of(c).state.runtime, as_of, app_of(c).state.escalation_config)
            for _ in range(ROUNDS)
            for c in (one, two)
        ]
        await asyncio.gather(*passes)
        verdicts = await outbox_events(one, "problem.effect_verified")
        not_shown = await outbox_events(one, "problem.effect_not_shown")
        escalated = await outbox_events(one, "case.escalated")
        body = (await two.get(f"/v1/problems/{problem_id}")).json()
    assert [e.data["problem_id"] for e in verdicts] == [problem_id] and not_shown == []
    assert body["status"] == "closed"
    assert Counter(e.data["level"] for e in escalated) == {"owner": 1, "head_of_department": 1}
