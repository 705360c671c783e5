"""The escalation ladder under repeated SLA warnings and breaches, on the real broker."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.events import (
    AuditOverdue,
    CaseAssigned,
    CaseReassigned,
    Envelope,
    SlaEvent,
    new_event,
)
from tests.support.env import Database, TestEnv
from tests.support.escalation import publisher, received, started


@pytest.fixture
async def escalation(env: TestEnv, database: Database) -> AsyncIterator[httpx.AsyncClient]:
    async with database("escalation") as url, started(env, url) as client:
        yield client


def sla(kind: str, case_id: str, due_at: datetime, **data: Any) -> Envelope:
    body: dict[str, Any] = {"subject": "case", "id": case_id, "due_at": due_at, "level": kind}
    body.update(data)
    department = body.get("department")
    return new_event(
        f"sla.{kind}",
        SlaEvent(**body),
        producer="ownership",
        complaint_id=case_id,
        routing_suffix=department,
    )


def assigned(case_id: str, owner: str = "alice", team: str = "billing") -> Envelope:
    return new_event(
        "case.assigned",
        CaseAssigned(owner_id=owner, team=team),
        producer="ownership",
        complaint_id=case_id,
    )


def steps(events: list[Envelope]) -> list[tuple[str, str]]:
    return [(e.data["level"], e.data["to"]) for e in events]


async def test_repeated_warnings_and_breaches_climb_each_step_once(
    escalation: httpx.AsyncClient, env: TestEnv
) -> None:
    complaint = received(description="The heater caught fire.")  # P1
    case_id = str(complaint.complaint_id)
    due = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    warning, breach = sla("warning", case_id, due), sla("breached", case_id, due)
    async with env.probe("case.escalated.#") as probe, publisher(env) as bus:
        await bus.publish(complaint, assigned(case_id))
        await bus.publish(warning, warning, sla("warning", case_id, due))
        await probe.wait_for("case.escalated", case_id, count=2)
        await bus.publish(breach, sla("breached", case_id, due), sla("breached", case_id, due))
        await probe.wait_for("case.escalated", case_id, count=4)
        await asyncio.sleep(0.5)
        sent = probe.of_type("case.escalated", case_id)
        assert steps(sent) == [
            ("owner", "alice"),
            ("team_lead", "maria"),
            ("head_of_department", "head-customer-care"),
            ("executive", "coo"),
        ]
        assert all(e.data["subject"] == "case" and e.data["subject_id"] == case_id for e in sent)
        assert "SLA breached of case" in sent[-1].data["reason"]
        assert "priority P1" in sent[-1].data["reason"]
        # A new due time (the case was re-planned) is a new breach: its ladder starts again.
        later = due + timedelta(hours=24)
        await bus.publish(sla("breached", case_id, later), sla("breached", case_id, later))
        await probe.wait_for("case.escalated", case_id, count=8)
        await asyncio.sleep(0.5)
    assert len(probe.of_type("case.escalated", case_id)) == 8


async def test_the_ladder_follows_priority_and_the_current_owner(
    escalation: httpx.AsyncClient, env: TestEnv
) -> None:
    complaint = received(description="The parcel was late.")  # P3
    case_id = str(complaint.complaint_id)
    due = datetime.now(UTC).replace(microsecond=0)
    moved = new_event(
        "case.reassigned",
        CaseReassigned(from_owner_id="dave", to_owner_id="erin", reason="holiday"),
        producer="ownership",
        complaint_id=case_id,
    )
    async with env.probe("case.escalated.#") as probe, publisher(env) as bus:
        await bus.publish(complaint, assigned(case_id, "dave", "delivery"), moved)
        await bus.publish(sla("breached", case_id, due))
        await probe.wait_for("case.escalated", case_id, count=2)
        await asyncio.sleep(0.3)
    assert steps(probe.of_type("case.escalated", case_id)) == [
        ("owner", "erin"),
        ("team_lead", "nadia"),
    ]


async def test_a_task_breach_climbs_inside_its_department(
    escalation: httpx.AsyncClient, env: TestEnv
) -> None:
    case_id, task_id = str(uuid.uuid4()), str(uuid.uuid4())
    due = datetime.now(UTC).replace(microsecond=0)
    task = {"subject": "task", "id": task_id, "department": "finance"}
    async with env.probe("case.escalated.#") as probe, publisher(env) as bus:
        await bus.publish(sla("warning", case_id, due, **task))
        await bus.publish(
            sla("breached", case_id, due, **task), sla("breached", case_id, due, **task)
        )
        await probe.wait_for("case.escalated", case_id, count=2)
        await asyncio.sleep(0.3)
    sent = probe.of_type("case.escalated", case_id)
    assert steps(sent) == [("department_lead", "finance-lead"), ("department_head", "finance-head")]
    assert {e.data["department"] for e in sent} == {"finance"}
    assert {e.data["subject_id"] for e in sent} == {task_id}
    assert "case.escalated.finance" in probe.routing_keys


async def test_a_case_whose_owner_is_unknown_escalates_to_the_head(
    escalation: httpx.AsyncClient, env: TestEnv
) -> None:
    case_id = str(uuid.uuid4())
    async with env.probe("case.escalated.#") as probe, publisher(env) as bus:
        await bus.publish(sla("warning", case_id, datetime.now(UTC)))
        sent = await probe.wait_for("case.escalated", case_id)
    assert (sent.data["level"], sent.data["to"]) == ("owner", "head-customer-care")


async def test_an_overdue_audit_goes_to_the_head_once_and_never_to_the_owner(
    escalation: httpx.AsyncClient, env: TestEnv
) -> None:
    case_id, audit_id = str(uuid.uuid4()), str(uuid.uuid4())
    due = datetime.now(UTC).replace(microsecond=0)
    overdue = new_event(
        "audit.overdue",
        AuditOverdue(audit_id=audit_id, attested=True, due_at=due),
        producer="confirmation",
        complaint_id=case_id,
    )
    async with env.probe("case.escalated.#") as probe, publisher(env) as bus:
        await bus.publish(assigned(case_id))
        await bus.publish(overdue)
        await bus.publish(overdue.model_copy(update={"event_id": str(uuid.uuid4())}))
        await probe.wait_for("case.escalated", case_id)
        await asyncio.sleep(0.5)
    sent = probe.of_type("case.escalated", case_id)
    assert steps(sent) == [("head_of_department", "head-customer-care")]
    assert sent[0].data["subject"] == "audit" and sent[0].data["subject_id"] == audit_id
    assert "alice" not in str(sent[0].data)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[ladder", "escalation configuration"),
        ("[ladder.case.P1]\nwarning = ['boss']\n", r"\[ladder\.case\.P1\] warning"),
    ],
)
def test_an_invalid_escalation_file_stops_start_up(
    tmp_path: Path, content: str, message: str
) -> None:
    from services.escalation.app import create_app
    from services.escalation.domain import InvalidRules
    from services.escalation.settings import EscalationSettings

    broken = tmp_path / "escalation.toml"
    broken.write_text(content, encoding="utf-8")
    with pytest.raises(InvalidRules, match=message):
        create_app(EscalationSettings(escalation_file=broken))
