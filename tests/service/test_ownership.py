"""Ownership against the real broker and a real database: cases, owners, priorities, follow-ups."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from services.ownership.app import load_organisation
from services.ownership.models import owners, pending_priorities, team_categories, teams
from shared.events import (
    ComplaintContactAdded,
    ComplaintPrioritized,
    new_event,
)
from tests.support.env import TestEnv
from tests.support.ownership import (
    RECEIVED_AT,
    Desk,
    at,
    complaint,
    event,
    eventually,
    handled,
    handled_reader,
    outbox_count,
    regulatory,
)
from tests.support.ownership import desk as desk  # the fixture


async def test_complaint_goes_to_the_least_loaded_owner_of_its_team(
    desk: Desk, env: TestEnv
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
