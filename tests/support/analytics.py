"""Analytics in a test: a complaint's story as events, the service, what it recorded."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select

from services.analytics.app import create_app
from services.analytics.models import complaint_facts
from services.analytics.settings import AnalyticsSettings
from shared.events import (
    CaseAssigned,
    CaseClosed,
    CaseReopened,
    CaseResolutionProposed,
    ComplaintPrioritized,
    ComplaintReceived,
    ConfirmationAnswered,
    Envelope,
    EventData,
    new_event,
)
from tests.support.env import Database, TestEnv
from tests.support.services import app_of, auth, common_settings, running

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


class Story:
    """Events of one complaint, `hours` after T0, built with the contract's data models."""

    def __init__(self, channel: str = "email", category: str = "billing") -> None:
        self.id, self.channel, self.category = str(uuid.uuid4()), channel, category

    def event(self, type_: str, hours: float, data: EventData) -> Envelope:
        return new_event(type_, data, producer="test", complaint_id=self.id, occurred_at=at(hours))

    def received(self, hours: float, **extra: Any) -> Envelope:
        values: dict[str, Any] = {
            "reference": "CMP-" + self.id[:8].upper(),
            "customer_key": "k" * 64,
            "channel": self.channel,
            "contact": "ana@example.com",
            "category": self.category,
            "description": "Charged twice.",
            "received_at": at(hours),
        }
        return self.event("complaint.received", hours, ComplaintReceived(**{**values, **extra}))

    def prioritized(self, hours: float, priority: Any) -> Envelope:
        data = ComplaintPrioritized(priority=priority, reasons=["money at stake"])
        return self.event("complaint.prioritized", hours, data)

    def assigned(self, hours: float, owner: str) -> Envelope:
        return self.event("case.assigned", hours, CaseAssigned(owner_id=owner, team="billing"))

    def proposed(self, hours: float, no: int = 1, summary: str = "Refunded") -> Envelope:
        data = CaseResolutionProposed(
            owner_id="o-1", outcome="resolved", summary=summary, proposal_no=no
        )
        return self.event("case.resolution_proposed", hours, data)

    def answered(
        self, kind: str, hours: float, channel: Any = None, evidence: str = "YES"
    ) -> Envelope:
        data = ConfirmationAnswered(
            request_id="r-1",
            channel=channel or self.channel,
            received_at=at(hours),
            evidence=evidence,
        )
        return self.event(f"confirmation.{kind}", hours, data)

    def reopened(self, hours: float, count: int = 1) -> Envelope:
        data = CaseReopened(request_id="r-1", reason="customer said no", reopen_count=count)
        return self.event("case.reopened", hours, data)

    def closed(self, hours: float, reason: str = "customer confirmed") -> Envelope:
        data = CaseClosed(request_id="r-1", reason=reason, outcome="resolved")
        return self.event("case.closed", hours, data)


@asynccontextmanager
async def started(
    env: TestEnv, database: Database, **extra: Any
) -> AsyncIterator[httpx.AsyncClient]:
    async with database("analytics") as url:
        settings = AnalyticsSettings(**common_settings(env, url, **extra))
        async with running(create_app(settings)) as client:
            client.headers.update(auth(settings, "analyst", "bi-1"))
            yield client


async def publish(env: TestEnv, *events: Envelope) -> None:
    bus = env.publisher()
    await bus.connect()
    try:
        for event in events:
            await bus.publish(event)
    finally:
        await bus.close()


async def scalar(client: httpx.AsyncClient, query: Any) -> Any:
    engine = app_of(client).state.engine
    async with engine.connect() as conn:
        return (await conn.execute(query)).first()


async def eventually(
    client: httpx.AsyncClient, complaint_id: str, check: Callable[[Any], bool]
) -> Any:
    query = select(complaint_facts).where(complaint_facts.c.complaint_id == complaint_id)
    for _ in range(200):
        row = await scalar(client, query)
        if row is not None and check(row):
            return row
        await asyncio.sleep(0.05)
    raise AssertionError(f"facts of {complaint_id} never matched: {row}")
