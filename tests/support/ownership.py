"""Ownership in a test: the organisation, the service as a desk, complaints and its waits.

The `desk` fixture is imported by the modules that use it.
"""

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select

from services.ownership.app import create_app
from services.ownership.models import outbox
from services.ownership.settings import OwnershipSettings
from shared.events import (
    ComplaintReceived,
    Envelope,
    EventData,
    new_event,
)
from tests.support.env import Database, TestEnv
from tests.support.publisher import OwnerBus
from tests.support.services import app_of, auth, common_settings, running

ORGANISATION = """
[case_targets]
hours = { P1 = 4, P2 = 24, P3 = 72, P4 = 120 }
warning_fraction = 0.75

[teams.billing]
name = "Billing"
lead = "maria"
categories = ["billing", "Credit card"]
owners = [{ id = "bob", name = "Bob" }, { id = "alice", name = "Alice" }]

[teams.delivery]
name = "Delivery"
lead = "nadia"
categories = ["delivery"]
owners = [{ id = "dave", name = "Dave" }]

[teams.legal_desk]
name = "Legal desk"
lead = "lena"
categories = ["legal threat"]

[teams.general]
name = "General"
lead = "paula"
default = true
owners = [{ id = "ivan", name = "Ivan" }]

[departments.finance]
name = "Finance"
tasks = { refund = 24 }

[departments.logistics]
name = "Logistics"
tasks = { redelivery = 48 }
"""


class Desk:
    """One ownership service, a bus to inject events with, and tokens for every role."""

    def __init__(self, client: httpx.AsyncClient, settings: OwnershipSettings, bus: OwnerBus):
        self.client, self.settings, self.bus = client, settings, bus

    @property
    def app(self) -> Any:
        return app_of(self.client)

    def as_(self, role: str, subject: str = "tester") -> dict[str, str]:
        return auth(self.settings, role, subject)

    async def publish(self, *envelopes: Envelope) -> None:
        await self.bus.publish(*envelopes)

    async def receive(self, case_id: str | None = None, **overrides: Any) -> str:
        """Publish complaint.received as intake would; returns the complaint id."""
        case_id = case_id or str(uuid.uuid4())
        data = complaint(**overrides)
        await self.publish(
            new_event("complaint.received", data, producer="intake", complaint_id=case_id)
        )
        return case_id

    async def case(self, case_id: str) -> dict[str, Any]:
        response = await self.client.get(f"/v1/cases/{case_id}", headers=self.as_("supervisor"))
        assert response.status_code in (200, 404), response.text
        return response.json() if response.status_code == 200 else {}

    async def wait_case(
        self, case_id: str, where: Callable[[dict[str, Any]], bool] = bool
    ) -> dict[str, Any]:
        return await eventually(lambda: self.case(case_id), where)

    async def timeline(self, case_id: str) -> list[dict[str, Any]]:
        response = await self.client.get(
            f"/v1/cases/{case_id}/timeline", headers=self.as_("supervisor")
        )
        assert response.status_code == 200, response.text
        entries: list[dict[str, Any]] = response.json()["entries"]
        return entries

    async def wait_entry(self, case_id: str, kind: str, count: int = 1) -> list[dict[str, Any]]:
        entries = await eventually(
            lambda: self.timeline(case_id),
            lambda found: len([e for e in found if e["kind"] == kind]) >= count,
        )
        return [e for e in entries if e["kind"] == kind]


async def eventually(
    read: Callable[[], Awaitable[Any]], where: Callable[[Any], bool], timeout: float = 10.0
) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await read()
        if where(value):
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met in {timeout}s; last value: {value!r}")
        await asyncio.sleep(0.05)


RECEIVED_AT = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def complaint(**overrides: Any) -> ComplaintReceived:
    fields: dict[str, Any] = {
        "reference": "CMP-" + uuid.uuid4().hex[:8].upper(),
        "customer_key": uuid.uuid4().hex * 2,
        "channel": "email",
        "contact": "ana@example.com",
        "category": "billing",
        "product": "Credit card",
        "region": "CA",
        "description": "I was charged twice.",
        "received_at": RECEIVED_AT,
    }
    fields.update(overrides)
    return ComplaintReceived(**fields)


def regulatory(entry: dict[str, Any]) -> bool:
    """The regulator's clocks' entries, which every opened case has beside its own story."""
    return str(entry["kind"]).startswith(("policy_", "regulatory_"))


def handled(type_: str) -> float:
    """Events of a type this process acknowledged, duplicates included."""
    labels = {"type": type_, "outcome": "handled"}
    return REGISTRY.get_sample_value("events_consumed_total", labels) or 0.0


def handled_reader(type_: str) -> Callable[[], Awaitable[float]]:
    async def read() -> float:
        return handled(type_)

    return read


async def outbox_count(desk: Desk, routing_key: str, case_id: str) -> int:
    """Events the service wrote for a case: what it published or is about to."""
    async with desk.app.state.engine.connect() as conn:
        bodies = await conn.scalars(
            select(outbox.c.body).where(outbox.c.routing_key == routing_key)
        )
        return sum(Envelope.model_validate_json(b).complaint_id == case_id for b in bodies)


def event(type_: str, data: EventData, case_id: str, producer: str) -> Envelope:
    return new_event(type_, data, producer=producer, complaint_id=case_id)


def at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@asynccontextmanager
async def running_desk(env: TestEnv, database: Database) -> AsyncIterator[Desk]:
    organisation = env.tmp / "organisation.toml"
    organisation.write_text(ORGANISATION)
    async with database("ownership") as url:
        settings = OwnershipSettings(**common_settings(env, url, organisation_file=organisation))
        bus = env.publisher()
        await bus.connect()
        try:
            async with running(create_app(settings)) as client:
                yield Desk(client, settings, bus)
        finally:
            await bus.close()


@pytest.fixture
async def desk(env: TestEnv, database: Database) -> AsyncIterator[Desk]:
    async with running_desk(env, database) as running_service:
        yield running_service
