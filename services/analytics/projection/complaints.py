"""A complaint's facts from the set of its events: the same rows whatever the arrival order."""

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from services.analytics.domain import FactEvent, iso_week, month, parse_time
from services.analytics.projection import regulatory
from services.analytics.projection.child_facts import audits, confirmations, tasks
from shared.timestamps import as_utc

# Where two lifecycle events carry the same time, the later stage is the current one.
STAGES = {
    "complaint.received": (0, "received"),
    "case.assigned": (1, "assigned"),
    "case.reassigned": (1, "assigned"),
    "case.resolution_proposed": (2, "resolution_proposed"),
    "case.confirmation_reasked": (2, "resolution_proposed"),
    "case.resolution_withdrawn": (3, "in_progress"),
    "case.reopened": (3, "reopened"),
    "case.merged": (3, "merged"),
    "case.unmerged": (3, "in_progress"),
    "case.closed": (4, "closed"),
}
Rows = list[dict[str, Any]]


def ordered(events: Iterable[FactEvent]) -> list[FactEvent]:
    return sorted(events, key=_order)


def _order(event: FactEvent) -> tuple[datetime, str]:
    return as_utc(event.occurred_at), event.event_id


def project_complaint(
    complaint_id: str, events: Iterable[FactEvent]
) -> tuple[dict[str, Any], dict[str, Rows]]:
    """(the complaint_facts row, its task / confirmation / audit fact rows)."""
    events = ordered(events)
    facts = _project(events)
    children = {
        "task_facts": tasks(complaint_id, events),
        "confirmation_facts": confirmations(complaint_id, events, facts["channel"]),
        "audit_facts": audits(complaint_id, events),
        "regulatory_clock_facts": regulatory.clocks(complaint_id, events),
    }
    task_rows = sorted(
        children["task_facts"], key=lambda t: (t["created_at"] is None, t["created_at"] or 0)
    )
    facts["tasks"] = len(task_rows)
    facts["tasks_met"] = sum(t["met_sla"] is True for t in task_rows)
    facts["tasks_missed"] = sum(t["met_sla"] is False for t in task_rows)
    facts["department"] = task_rows[0]["department"] if task_rows else None
    facts["first_contact_resolution"] = (
        None
        if facts["closed_at"] is None
        else facts["proposals"] <= 1 and facts["reopen_count"] == 0 and not task_rows
    )
    return {"complaint_id": complaint_id, **facts}, children


def project(events: Iterable[FactEvent]) -> dict[str, Any]:
    """The complaint_facts columns that a complaint's own lifecycle events establish."""
    return _project(ordered(events))


def _project(events: list[FactEvent]) -> dict[str, Any]:
    """`project` of events already in order."""
    by_type: dict[str, list[FactEvent]] = {}
    for event in events:
        by_type.setdefault(event.type, []).append(event)

    def of(*types: str) -> list[FactEvent]:
        if len(types) == 1:
            return by_type.get(types[0], [])
        return [e for e in events if e.type in types]

    received = next(iter(of("complaint.received")), None)
    keys = ("reference", "customer_key", "channel", "category", "product", "region")
    facts: dict[str, Any] = {k: received.get(k) if received else None for k in keys}
    received_at = received.time("received_at") if received else None
    facts["received_at"] = received_at
    facts["received_week"] = iso_week(received_at) if received_at else None
    facts["received_month"] = month(received_at) if received_at else None
    facts.update(_ownership(of("case.assigned", "case.reassigned")))
    facts["priority"] = _last(of("complaint.prioritized"), "priority")
    facts.update(_proposals(of("case.resolution_proposed"), of("confirmation.rejected")))
    facts.update(_closure(of, facts["channel"]))
    reopened = of("case.reopened")
    facts["reopen_count"] = max(
        [len(reopened)] + [int(e.get("reopen_count") or 0) for e in reopened]
    )
    facts["breaches"] = len(of("sla.breached"))
    facts["escalations"] = len(of("case.escalated"))
    facts["audit_outcome"] = _last(of("audit.completed"), "outcome")
    facts["hours_to_confirmation"] = _hours(received_at, facts["confirmed_at"])
    facts["hours_claimed_to_confirmed"] = _hours(facts["first_resolved_at"], facts["confirmed_at"])
    facts["resolved_on_time"] = _on_time(facts["first_proposed_at"], facts["due_at"])
    facts["confirmed_on_time"] = _on_time(facts["confirmed_at"], facts["due_at"])
    facts["status"] = _status(events)
    answered = of("customer.satisfaction_given")
    facts["satisfaction_score"] = _last(answered, "score")
    facts["satisfaction_at"] = answered[-1].time("answered_at") if answered else None
    facts.update(regulatory.facts(events, facts))
    return facts


def _ownership(events: list[FactEvent]) -> dict[str, Any]:
    assigned = [e for e in events if e.type == "case.assigned"]
    owners = [e.attributes.get("owner_id") or e.attributes.get("to_owner_id") for e in events]
    return {
        "owner_id": owners[-1] if owners else None,
        "team": _last(assigned, "team"),
        "assigned_at": _first_time(assigned),
        "due_at": parse_time(_last(events, "due_at")),
    }


def _proposals(proposals: list[FactEvent], rejections: list[FactEvent]) -> dict[str, Any]:
    resolved = [p for p in proposals if p.get("outcome") == "resolved"]

    def rejected_a_resolved(rejection: FactEvent) -> bool:
        # A customer's no answers the latest proposal made before it.
        before = [p for p in proposals if as_utc(p.occurred_at) <= as_utc(rejection.occurred_at)]
        return bool(before) and before[-1].get("outcome") == "resolved"

    return {
        "proposals": len(proposals),
        "resolved_proposals": len(resolved),
        "first_proposed_at": _first_time(proposals),
        "first_resolved_at": _first_time(resolved),
        "rejections": len(rejections),
        "resolved_rejected": sum(rejected_a_resolved(r) for r in rejections),
        "last_rejected_at": max((r.time("received_at") for r in rejections), default=None),
    }


def _closure(of: Callable[[str], list[FactEvent]], channel: str | None) -> dict[str, Any]:
    # Only a yes on the complaint's own channel is the customer's confirmation.
    yeses = [
        e for e in of("confirmation.confirmed") if channel is None or e.get("channel") == channel
    ]
    first_yes = min(yeses, key=lambda e: e.time("received_at"), default=None)
    closed = next(iter(of("case.closed")), None)
    proposals = of("case.resolution_proposed")
    attesting = closed or first_yes
    return {
        "confirmed_at": first_yes.time("received_at") if first_yes else None,
        "closed_at": as_utc(closed.occurred_at) if closed else None,
        "outcome": closed.get("outcome") if closed else _last(proposals, "outcome"),
        "attested": bool(attesting.get("attested")) if attesting else None,
    }


def _hours(start: datetime | None, end: datetime | None) -> float | None:
    return None if start is None or end is None else (end - start).total_seconds() / 3600


def _on_time(done: datetime | None, due: datetime | None) -> bool | None:
    return None if due is None else done is not None and done <= due


def _status(events: list[FactEvent]) -> str | None:
    stages = [(as_utc(e.occurred_at), *STAGES[e.type]) for e in events if e.type in STAGES]
    if any(stage == "closed" for *_, stage in stages):
        return "closed"
    return max(stages)[2] if stages else None


def _last(events: list[FactEvent], key: str) -> Any:
    for event in reversed(events):
        value = event.attributes.get(key)
        if value is not None:
            return value
    return None


def _first_time(events: list[FactEvent]) -> datetime | None:
    """When the first of events in order occurred."""
    return as_utc(events[0].occurred_at) if events else None
