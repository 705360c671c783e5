"""Facts of tasks, confirmations, audits, incidents and problems from their events."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from services.analytics.domain import FactEvent
from services.analytics.projection.child_facts import audits, confirmations, tasks
from services.analytics.projection.incident_facts import project_incident, project_problem

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def fact(type_: str, hours: float, **attributes: Any) -> FactEvent:
    return FactEvent(str(uuid.uuid4()), type_, at(hours), attributes)


def test_a_task_meets_its_sla_only_when_done_on_time_and_never_breached() -> None:
    due = at(10).isoformat()
    events = [
        fact("task.created", 1, task_id="on-time", department="it", type="x", due_at=due),
        fact(
            "task.completed", 9, task_id="on-time", department="it", completed_at=at(9).isoformat()
        ),
        fact("task.created", 1, task_id="late", department="it", due_at=due),
        fact(
            "task.completed", 11, task_id="late", department="it", completed_at=at(11).isoformat()
        ),
        fact("task.created", 1, task_id="breached", department="field", due_at=due),
        fact("sla.breached", 10, subject="task", id="breached", due_at=due),
        fact("task.completed", 9, task_id="breached", completed_at=at(9).isoformat()),
        fact("task.created", 1, task_id="open", department="field", due_at=due),
        fact("task.acknowledged", 2, task_id="open", acknowledged_at=at(2).isoformat()),
    ]
    rows = {r["task_id"]: r for r in tasks("c", events)}
    assert {k: r["met_sla"] for k, r in rows.items()} == {
        "on-time": True,
        "late": False,
        "breached": False,
        "open": None,
    }
    assert rows["open"]["acknowledged_at"] == at(2) and rows["breached"]["breached"] is True


def test_a_request_is_answered_by_its_first_clear_reply_not_an_unclear_one() -> None:
    events = [
        fact(
            "confirmation.requested", 1, request_id="r", channel="email", sent_at=at(1).isoformat()
        ),
        fact("confirmation.reminder_sent", 5, request_id="r", reminder_no=1),
        fact("confirmation.reminder_sent", 5, request_id="r", reminder_no=1),
        fact(
            "confirmation.unclear",
            6,
            request_id="r",
            channel="email",
            received_at=at(6).isoformat(),
        ),
        fact(
            "confirmation.confirmed",
            8,
            request_id="r",
            channel="sms",
            received_at=at(8).isoformat(),
        ),
    ]
    (row,) = confirmations("c", events, "email")
    assert (row["answer"], row["answered_at"], row["on_original_channel"]) == (
        "confirmed",
        at(8),
        False,
    )
    assert row["reminders"] == 1 and row["requested_at"] == at(1)


def test_audits_pair_request_and_result_and_keep_results_without_an_id() -> None:
    events = [
        fact("audit.requested", 1, audit_id="a", attested=True),
        fact("audit.completed", 3, audit_id="a", outcome="failed"),
        fact("audit.completed", 4, outcome="passed"),
    ]
    rows = sorted(audits("c", events), key=lambda r: r["audit_id"])
    assert [(r["attested"], r["outcome"]) for r in rows] == [(True, "failed"), (None, "passed")]


def test_an_incident_links_the_union_of_its_complaints() -> None:
    events = [
        fact(
            "incident.detected",
            1,
            incident_id="i",
            pattern={"product": "card"},
            complaint_ids=["b", "a"],
        ),
        fact(
            "incident.updated",
            2,
            incident_id="i",
            status="merged",
            complaint_ids=["c"],
            merged_into="j",
        ),
    ]
    row, linked = project_incident("i", events)
    assert linked == ["a", "b", "c"] and row["complaints"] == 3
    assert (row["status"], row["product"], row["merged_into"]) == ("merged", "card", "j")


def test_a_problem_is_effective_only_when_its_effect_was_verified() -> None:
    action = {"action_id": "x", "problem_id": "p", "kind": "corrective", "owner_id": "o"}
    events = [
        fact("problem.opened", 1, problem_id="p", incident_id="i"),
        fact("action.created", 2, **action, due_at=at(5).isoformat()),
        fact(
            "action.completed",
            6,
            **action,
            due_at=at(5).isoformat(),
            completed_at=at(6).isoformat(),
        ),
        fact("problem.effect_not_shown", 7, problem_id="p", rate_before=0.2, rate_after=0.2),
    ]
    row = project_problem("p", events)
    assert (row["status"], row["effective"], row["actions_late"]) == ("not_effective", False, 1)
    verified = project_problem("p", [*events, fact("problem.effect_verified", 8, problem_id="p")])
    assert (verified["status"], verified["effective"]) == ("effective", True)
