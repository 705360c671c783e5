"""Ownership against the real broker and a real database: cases, owners, priorities, follow-ups.

The `desk` fixture and its helpers are shared with test_ownership_lifecycle.py.
"""

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import func, select

from services.ownership.app import create_app, load_organisation
from services.ownership.models import outbox, owners, pending_priorities, team_categories, teams
from services.ownership.settings import OwnershipSettings
from shared.bus import Bus
from shared.events import (
    ComplaintContactAdded,
    ComplaintPrioritized,
    ComplaintReceived,
    Envelope,
    EventData,
    new_event,
)
from tests import conftest
from tests.support.services import auth, common_settings, running

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

    def __init__(self, client: httpx.AsyncClient, settings: OwnershipSettings, bus: Bus):
        self.client, self.settings, self.bus = client, settings, bus

    @property
    def app(self) -> Any:
        return self.client._transport.app  # type: ignore[attr-defined]

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
async def running_desk(env: Any, database: Any) -> AsyncIterator[Desk]:
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
async def desk(env: conftest.TestEnv, database: Any) -> AsyncIterator[Desk]:
    async with running_desk(env, database) as running_service:
        yield running_service


async def test_complaint_goes_to_the_least_loaded_owner_of_its_team(
    desk: Desk, env: conftest.TestEnv
) -> None:
    assigned = []
    async with env.probe("case.assigned") as probe:
        for _ in range(3):
            case_id = await desk.receive(category="Billing")
            event = await probe.wait_for("case.assigned", case_id)
            assigned.append(event.data["owner_id"])
            assert event.data["team"] == "billing" and event.producer == "ownership"
            assert at(event.data["due_at"]) == RECEIVED_AT + timedelta(hours=72)
    assert assigned == ["alice", "bob", "alice"]
    case = await desk.case(case_id)
    assert (
        case["status"] == "assigned" and case["owner_id"] == "alice" and case["team"] == "billing"
    )
    assert at(case["customer_clock_started_at"]) == RECEIVED_AT and case["priority"] is None
    kinds = [
        (e["kind"], e["actor"], e["detail"].get("status"))
        for e in await desk.timeline(case_id)
        if not regulatory(e)
    ]
    assert kinds == [("received", "customer", "received"), ("assigned", "system", "assigned")]


async def test_unknown_category_goes_to_the_default_team_and_a_team_without_owners_to_its_lead(
    desk: Desk,
) -> None:
    unknown = await desk.receive(category="rude staff", product="Mortgage")
    by_product = await desk.receive(category="rude staff", product="credit CARD")
    empty_team = await desk.receive(category="Legal Threat", product=None)
    assert (await desk.wait_case(unknown))["team"] == "general"
    assert (await desk.wait_case(unknown))["owner_id"] == "ivan"
    assert (await desk.wait_case(by_product))["team"] == "billing"
    case = await desk.wait_case(empty_team)
    assert (case["team"], case["owner_id"]) == ("legal_desk", "lena")
    [assigned] = [e for e in await desk.timeline(empty_team) if e["kind"] == "assigned"]
    assert assigned["detail"]["rule"] == "team_lead"


async def test_priority_that_overtakes_its_complaint_is_applied_when_the_case_opens(
    desk: Desk,
) -> None:
    case_id = str(uuid.uuid4())
    priority = ComplaintPrioritized(priority="P1", reasons=["money", "vip"])
    await desk.publish(event("complaint.prioritized", priority, case_id, "escalation"))
    engine = desk.app.state.engine

    async def pending() -> int:
        async with engine.connect() as conn:
            return int(await conn.scalar(select(func.count()).select_from(pending_priorities)))

    await eventually(pending, lambda n: n == 1)
    await desk.receive(case_id)
    case = await desk.wait_case(case_id)
    assert case["priority"] == "P1" and case["priority_reasons"] == ["money", "vip"]
    assert at(case["due_at"]) == RECEIVED_AT + timedelta(hours=4)
    assert await pending() == 0
    entry = (await desk.wait_entry(case_id, "prioritized"))[0]
    assert entry["detail"]["reasons"] == ["money", "vip"] and entry["actor"] == "escalation"


async def test_priority_after_assignment_sets_the_case_sla(desk: Desk) -> None:
    case_id = await desk.receive()
    await desk.wait_case(case_id)
    priority = ComplaintPrioritized(priority="P2", reasons=["repeat contact"])
    await desk.publish(event("complaint.prioritized", priority, case_id, "escalation"))
    case = await desk.wait_case(case_id, lambda c: c["priority"] == "P2")
    assert at(case["due_at"]) == RECEIVED_AT + timedelta(hours=24)
    assert case["status"] == "assigned"


async def test_follow_up_contact_joins_the_timeline_and_changes_nothing_else(desk: Desk) -> None:
    case_id = await desk.receive()
    before = await desk.wait_case(case_id)
    contact = ComplaintContactAdded(
        contact_id=str(uuid.uuid4()),
        channel="phone",
        contact="+14155552671",
        text="Any news on my refund?",
        received_at=datetime.now(UTC),
    )
    await desk.publish(event("complaint.contact_added", contact, case_id, "intake"))
    entry = (await desk.wait_entry(case_id, "contact_added"))[0]
    assert entry["detail"]["channel"] == "phone"
    assert entry["detail"]["text"] == "Any news on my refund?" and entry["actor"] == "customer"
    after = await desk.case(case_id)
    assert (after["status"], after["owner_id"]) == (before["status"], before["owner_id"])


async def test_redelivered_complaint_opens_one_case(desk: Desk) -> None:
    case_id = str(uuid.uuid4())
    first = new_event("complaint.received", complaint(), producer="intake", complaint_id=case_id)
    again = new_event("complaint.received", complaint(), producer="intake", complaint_id=case_id)
    before = handled("complaint.received")
    await desk.publish(first, first, again)
    await eventually(handled_reader("complaint.received"), lambda n: n == before + 3)
    follow_up = await desk.receive()
    await desk.wait_case(follow_up)
    assert await outbox_count(desk, "case.assigned", case_id) == 1
    listed = await desk.client.get("/v1/cases", headers=desk.as_("supervisor"))
    assert sorted(c["id"] for c in listed.json()["items"]) == sorted([case_id, follow_up])
    entries = await desk.timeline(case_id)
    assert [e["kind"] for e in entries if not regulatory(e)] == ["received", "assigned"]


async def test_owners_list_only_their_own_cases(desk: Desk) -> None:
    # One after the other: the consumer handles messages concurrently, so order is not given.
    for_alice = await desk.receive()
    await desk.wait_case(for_alice)
    for_bob = await desk.receive()
    await desk.wait_case(for_bob)
    mine = await desk.client.get("/v1/cases", headers=desk.as_("owner", "alice"))
    assert [c["id"] for c in mine.json()["items"]] == [for_alice]
    other = await desk.client.get("/v1/cases?owner_id=bob", headers=desk.as_("owner", "alice"))
    assert other.status_code == 403 and other.json()["error"]["code"] == "not_own_cases"
    bobs = await desk.client.get(
        "/v1/cases?owner_id=bob&status=assigned&limit=5", headers=desk.as_("supervisor")
    )
    assert [c["id"] for c in bobs.json()["items"]] == [for_bob]
    bad = await desk.client.get("/v1/cases?status=done", headers=desk.as_("supervisor"))
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "validation_error"


async def test_case_list_pages_by_cursor_and_an_owner_reads_their_own_team(desk: Desk) -> None:
    billing = []
    for _ in range(3):
        billing.append(await desk.receive(category="billing"))
        await desk.wait_case(billing[-1])
    delivery = await desk.receive(category="delivery")
    await desk.wait_case(delivery)
    seen: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 2, "open": "true"}
    while True:
        page = await desk.client.get("/v1/cases", params=params, headers=desk.as_("supervisor"))
        body = page.json()
        assert page.status_code == 200 and len(body["items"]) <= 2
        seen += body["items"]
        if body["next_cursor"] is None:
            break
        params["cursor"] = body["next_cursor"]
    assert sorted(c["id"] for c in seen) == sorted([*billing, delivery])
    order = [(at(c["due_at"]), c["id"]) for c in seen]
    assert order == sorted(order)
    # The warning fires at warning_fraction of the SLA (round the clock here: no calendar).
    for case in seen:
        started, due = at(case["sla_started_at"]), at(case["due_at"])
        assert at(case["warning_at"]) == started + (due - started) * 0.75
    team = await desk.client.get("/v1/cases?team=billing", headers=desk.as_("owner", "alice"))
    assert sorted(c["id"] for c in team.json()["items"]) == sorted(billing)
    other = await desk.client.get("/v1/cases?team=delivery", headers=desk.as_("owner", "alice"))
    assert other.status_code == 403 and other.json()["error"]["code"] == "not_own_team"
    bad = await desk.client.get("/v1/cases?cursor=bm90LWEtY3Vyc29y", headers=desk.as_("admin"))
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_cursor"


async def test_organisation_is_loaded_idempotently_and_shows_each_owners_load(desk: Desk) -> None:
    case_id = await desk.receive()
    await desk.wait_case(case_id)
    runtime = desk.app.state.runtime
    await asyncio.gather(load_organisation(runtime), load_organisation(runtime))
    async with desk.app.state.engine.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(teams)) == 4
        assert await conn.scalar(select(func.count()).select_from(owners)) == 8
        assert await conn.scalar(select(func.count()).select_from(team_categories)) == 4
    response = await desk.client.get("/v1/organisation", headers=desk.as_("supervisor"))
    assert response.status_code == 200, response.text
    org = response.json()
    billing = next(t for t in org["teams"] if t["id"] == "billing")
    load = {o["id"]: (o["open_cases"], o["assignable"]) for o in billing["owners"]}
    assert load == {"alice": (1, True), "bob": (0, True), "maria": (0, False)}
    assert org["case_targets"] == {"P1": 4, "P2": 24, "P3": 72, "P4": 120}
    assert {d["id"]: d["tasks"] for d in org["departments"]}["finance"] == {"refund": 24}
    assert org["warning_fraction"] == 0.75 and org["default_priority"] == "P3"
    owner = await desk.client.get("/v1/organisation", headers=desk.as_("owner", "alice"))
    assert owner.status_code == 403


async def test_reads_need_a_token_and_a_known_case(desk: Desk) -> None:
    anonymous = await desk.client.get(f"/v1/cases/{uuid.uuid4()}")
    assert anonymous.status_code == 401
    analyst = await desk.client.get(f"/v1/cases/{uuid.uuid4()}", headers=desk.as_("analyst"))
    assert analyst.status_code == 403
    missing = await desk.client.get(f"/v1/cases/{uuid.uuid4()}", headers=desk.as_("frontend"))
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "case_not_found"
    ready = await desk.client.get("/readyz")
    assert ready.json()["checks"] == {"database": "ok", "broker": "ok"}
