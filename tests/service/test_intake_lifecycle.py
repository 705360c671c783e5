"""Intake learns the case's lifecycle from the bus, once per event, never going back in time."""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from services.intake.app import create_app
from services.intake.settings import IntakeSettings
from shared.events import (
    CaseAssigned,
    CaseClosed,
    CaseReopened,
    ComplaintPrioritized,
    EventData,
    new_event,
)
from tests.support.env import Database, TestEnv
from tests.support.intake import Intake, complaint_body
from tests.support.services import auth, common_settings, running


@pytest.fixture
async def intake(env: TestEnv, database: Database) -> AsyncIterator[Intake]:
    async with database("intake") as url:
        settings = IntakeSettings(**common_settings(env, url))
        async with running(create_app(settings)) as client:
            client.headers.update(auth(settings, "frontend", "desk-1"))
            yield client, settings


def event(type_: str, data: EventData, complaint_id: str, at: datetime | None = None) -> Any:
    producer = "escalation" if type_ == "complaint.prioritized" else "ownership"
    return new_event(type_, data, producer=producer, complaint_id=complaint_id, occurred_at=at)


async def until(client: httpx.AsyncClient, complaint_id: str, **wanted: Any) -> dict[str, Any]:
    for _ in range(200):
        body: dict[str, Any] = (await client.get(f"/v1/complaints/{complaint_id}")).json()
        if all(body.get(k) == v for k, v in wanted.items()):
            return body
        await asyncio.sleep(0.05)
    raise AssertionError(f"{complaint_id} never reached {wanted}: {body}")


def closed() -> CaseClosed:
    return CaseClosed(request_id="r1", reason="customer confirmed", outcome="resolved")


async def test_status_follows_the_case_and_a_closed_matter_is_not_joined(
    intake: Intake, env: TestEnv
) -> None:
    client, _ = intake
    complaint = (await client.post("/v1/complaints", json=complaint_body())).json()
    cid, due = complaint["id"], datetime(2026, 12, 10, 9, tzinfo=UTC)
    async with env.publisher() as bus:
        await bus.publish(
            event("case.assigned", CaseAssigned(owner_id="alice", team="billing", due_at=due), cid)
        )
        await bus.publish(
            event(
                "complaint.prioritized", ComplaintPrioritized(priority="P2", reasons=["money"]), cid
            )
        )
        body = await until(client, cid, status="assigned", priority="P2")
        assert body["owner_team"] == "billing"
        assert datetime.fromisoformat(body["due_at"]) == due
        # Still open: a complaint on the same matter joins it.
        joined = await client.post("/v1/complaints", json=complaint_body())
        assert joined.status_code == 200 and joined.json()["id"] == cid
        done = event("case.closed", closed(), cid)
        await bus.publish(done, done)  # a redelivered copy is applied once
        await until(client, cid, status="closed")
    fresh = await client.post("/v1/complaints", json=complaint_body())
    assert fresh.status_code == 201 and fresh.json()["id"] != cid
    assert fresh.json()["status"] == "received"


async def test_a_late_older_event_does_not_take_the_status_back(
    intake: Intake, env: TestEnv
) -> None:
    client, _ = intake
    cid = (await client.post("/v1/complaints", json=complaint_body())).json()["id"]
    now = datetime.now(UTC)
    reopened = CaseReopened(request_id="r1", reason="customer said no", reopen_count=1)
    async with env.publisher() as bus:
        await bus.publish(event("case.reopened", reopened, cid, now))
        await until(client, cid, status="reopened")
        late = CaseAssigned(owner_id="alice", team="billing")
        await bus.publish(event("case.assigned", late, cid, now - timedelta(minutes=5)))
        await bus.publish(event("case.closed", closed(), cid, now + timedelta(minutes=1)))
        await until(client, cid, status="closed")
