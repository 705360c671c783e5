"""Escalations reach people: on the case's timeline, in a list, following the case's team; and a
supervisor's priority override re-plans the SLA. Escalation and ownership run together on the
real broker, so each consumes what the other really emits."""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from shared.events import SlaEvent, new_event
from tests.support.env import Database, TestEnv
from tests.support.escalation import started
from tests.support.ownership import Desk, eventually, running_desk
from tests.support.services import app_of, auth, outbox_events


@dataclass
class System:
    escalation: httpx.AsyncClient
    desk: Desk

    def as_(self, role: str, subject: str = "tester") -> dict[str, str]:
        return auth(app_of(self.escalation).state.runtime.settings, role, subject)


@pytest.fixture
async def system(env: TestEnv, database: Database) -> AsyncIterator[System]:
    async with (
        database("escalation") as url,
        started(env, url) as escalation,
        running_desk(env, database) as desk,
    ):
        yield System(escalation, desk)


async def owned_and_prioritised(desk: Desk, **complaint: str) -> str:
    # Received now: the case's own SLA timers are far off, so only what a test sends escalates.
    case_id = await desk.receive(received_at=datetime.now(UTC), **complaint)
    await desk.wait_case(case_id, lambda c: bool(c) and c.get("priority") is not None)
    return case_id


async def test_a_supervisor_override_replans_the_sla_and_stays(system: System) -> None:
    desk, escalation = system.desk, system.escalation
    case_id = await owned_and_prioritised(desk, description="The statement shows a late fee.")
    before = await desk.case(case_id)
    assert before["priority"] != "P1"
    body = {"priority": "P1", "reason": "The customer is in hospital and cannot pay."}

    answer = await escalation.put(f"/v1/priorities/{case_id}", json=body)

    assert answer.status_code == 200, answer.text
    assert answer.json()["overridden_by"] == "sup-1"
    assert answer.json()["override_reason"] == body["reason"]
    after = await desk.wait_case(case_id, lambda c: c["priority"] == "P1")
    assert datetime.fromisoformat(after["due_at"]) < datetime.fromisoformat(before["due_at"])
    entries = await desk.wait_entry(case_id, "prioritized", count=2)
    override = entries[-1]
    assert override["actor"] == "supervisor:sup-1"
    assert override["detail"]["overridden_by"] == "sup-1"
    assert override["detail"]["previous"] == before["priority"]
    assert any(body["reason"] in line for line in override["detail"]["reasons"])

    # The same PUT again changes nothing and announces nothing.
    again = await escalation.put(f"/v1/priorities/{case_id}", json=body)
    assert again.status_code == 200
    assert again.json() == answer.json()
    await asyncio.sleep(0.3)
    prioritised = await outbox_events(escalation, "complaint.prioritized")
    announced = [e for e in prioritised if e.complaint_id == case_id]
    assert [e.data.get("overridden_by") for e in announced] == [None, "sup-1"]

    # Another override replaces the first one's line, keeping the rules' reasons.
    lower = await escalation.put(
        f"/v1/priorities/{case_id}", json={"priority": "P3", "reason": "Paid in full by phone."}
    )
    reasons = lower.json()["reasons"]
    assert [r for r in reasons if r.startswith("overridden by")] == [
        "overridden by sup-1: Paid in full by phone."
    ]
    await desk.wait_case(case_id, lambda c: c["priority"] == "P3")


@pytest.mark.parametrize(
    ("role", "body", "status", "code"),
    [
        ("owner", {"priority": "P1", "reason": "I want it sooner"}, 403, "forbidden"),
        ("frontend", {"priority": "P1", "reason": "I want it sooner"}, 403, "forbidden"),
        ("supervisor", {"priority": "P0", "reason": "urgent"}, 422, "validation_error"),
        ("supervisor", {"priority": "P1"}, 422, "validation_error"),
        ("supervisor", {"priority": "P1", "reason": ""}, 422, "validation_error"),
        ("supervisor", {"priority": "P1", "reason": "ok then", "by": "x"}, 422, "validation_error"),
    ],
)
async def test_a_bad_override_is_refused_and_changes_nothing(
    system: System, role: str, body: dict[str, str], status: int, code: str
) -> None:
    desk, escalation = system.desk, system.escalation
    case_id = await owned_and_prioritised(desk)
    before = (await escalation.get(f"/v1/priorities/{case_id}")).json()

    refused = await escalation.put(
        f"/v1/priorities/{case_id}", json=body, headers=system.as_(role, "someone")
    )

    assert refused.status_code == status, refused.text
    assert refused.json()["error"]["code"] == code
    assert (await escalation.get(f"/v1/priorities/{case_id}")).json() == before


async def test_an_override_of_an_unknown_complaint_is_404(system: System) -> None:
    answer = await system.escalation.put(
        "/v1/priorities/no-such-complaint", json={"priority": "P1", "reason": "urgent matter"}
    )
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "priority_not_found"


async def test_escalations_follow_the_case_to_its_new_team_onto_its_timeline(
    system: System,
) -> None:
    desk, escalation = system.desk, system.escalation
    case_id = await owned_and_prioritised(desk, category="billing")
    handed = await desk.client.post(
        f"/v1/cases/{case_id}/reassign",
        json={"to_owner_id": "dave", "reason": "It is a delivery matter after all."},
        headers=desk.as_("supervisor"),
    )
    assert handed.status_code == 200, handed.text
    due = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    breach = new_event(
        "sla.breached",
        SlaEvent(subject="case", id=case_id, due_at=due, level="breached"),
        producer="ownership",
        complaint_id=case_id,
    )
    await asyncio.sleep(0.3)  # the hand-over reaches escalation first, as it would in production
    await desk.publish(breach, breach)

    entries = await desk.wait_entry(case_id, "escalated", count=2)
    reached = sorted((e["detail"]["level"], e["detail"]["to"]) for e in entries)
    # The delivery team's lead, not billing's (maria): the ladder follows the case.
    assert reached == [("owner", "dave"), ("team_lead", "nadia")]
    assert all("SLA breached of case" in e["detail"]["reason"] for e in entries)

    listed = await escalation.get("/v1/escalations", params={"case_id": case_id})
    assert listed.status_code == 200, listed.text
    items = listed.json()["items"]
    assert sorted((i["step"], i["recipient"]) for i in items) == reached
    assert {i["subject"] for i in items} == {"case"} and listed.json()["next_cursor"] is None

    first = await escalation.get("/v1/escalations", params={"case_id": case_id, "limit": 1})
    cursor = first.json()["next_cursor"]
    assert cursor
    second = await escalation.get(
        "/v1/escalations", params={"case_id": case_id, "limit": 1, "cursor": cursor}
    )
    pages = first.json()["items"] + second.json()["items"]
    assert sorted(i["id"] for i in pages) == sorted(i["id"] for i in items)
    assert second.json()["next_cursor"] is None

    mine = await escalation.get("/v1/escalations", headers=system.as_("owner", "dave"))
    assert [(i["case_id"], i["recipient"]) for i in mine.json()["items"]] == [(case_id, "dave")]
    theirs = await escalation.get(
        "/v1/escalations", params={"recipient": "nadia"}, headers=system.as_("owner", "dave")
    )
    assert theirs.status_code == 403
    assert theirs.json()["error"]["code"] == "not_own_escalations"


@pytest.mark.parametrize(
    "params",
    [
        {"cursor": "not-a-cursor"},
        {"subject": "everything"},
        {"since": "0.5"},
        {"limit": "0"},
        {"stauts": "open"},
    ],
)
async def test_a_bad_escalation_query_is_422(system: System, params: dict[str, str]) -> None:
    answer = await system.escalation.get("/v1/escalations", params=params)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] in ("invalid_cursor", "validation_error")


async def test_an_escalation_list_needs_a_role_that_may_read_it(system: System) -> None:
    for role in ("frontend", "department", "analyst"):
        answer = await system.escalation.get("/v1/escalations", headers=system.as_(role))
        assert answer.status_code == 403, role
    anonymous = await system.escalation.get("/v1/escalations", headers={"Authorization": ""})
    assert anonymous.status_code == 401


async def test_an_escalated_audit_stays_off_the_owners_timeline(system: System) -> None:
    from shared.events import AuditOverdue

    desk = system.desk
    case_id = await owned_and_prioritised(desk)
    overdue = new_event(
        "audit.overdue",
        AuditOverdue(audit_id="a-1", attested=False, due_at=datetime.now(UTC)),
        producer="confirmation",
        complaint_id=case_id,
    )
    await desk.publish(overdue)
    await eventually(
        lambda: system.escalation.get("/v1/escalations", params={"case_id": case_id}),
        lambda r: len(r.json()["items"]) == 1,
    )
    await asyncio.sleep(0.5)
    assert not [e for e in await desk.timeline(case_id) if e["kind"] == "escalated"]
