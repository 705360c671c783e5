"""Facts of incidents (clusters of complaints) and problems with their corrective actions."""

from typing import Any

from services.analytics.domain import FactEvent
from shared.timestamps import as_utc


def project_incident(incident_id: str, events: list[FactEvent]) -> tuple[dict[str, Any], list[str]]:
    """(the incident_facts row, the ids of the complaints linked to it)."""
    detected = [e for e in events if e.type == "incident.detected"]
    pattern: dict[str, Any] = next((e.get("pattern") for e in detected if e.get("pattern")), {})
    linked = sorted({c for e in events for c in e.get("complaint_ids") or []})
    statuses = [e.get("status") for e in events if e.get("status")]
    merged = [e.get("merged_into") for e in events if e.get("merged_into")]
    row = {
        "incident_id": incident_id,
        "status": statuses[-1] if statuses else ("open" if detected else None),
        "product": pattern.get("product"),
        "category": pattern.get("category"),
        "region": pattern.get("region"),
        "detected_at": as_utc(detected[0].occurred_at) if detected else None,
        "updated_at": as_utc(events[-1].occurred_at) if events else None,
        "complaints": len(linked),
        "merged_into": merged[-1] if merged else None,
    }
    return row, linked


PROBLEM_STATUS = {
    "problem.opened": "open",
    "problem.cause_identified": "cause_identified",
    "problem.effect_verified": "effective",
    "problem.effect_not_shown": "not_effective",
}


def project_problem(problem_id: str, events: list[FactEvent]) -> dict[str, Any]:
    """A problem is done only when its corrective action was shown to work (`effective`)."""
    states = [e for e in events if e.type in PROBLEM_STATUS]
    checks = [e for e in states if e.type.startswith("problem.effect_")]
    actions: dict[str, list[FactEvent]] = {}
    for e in events:
        if e.type.startswith("action.") and e.get("action_id"):
            actions.setdefault(e.get("action_id"), []).append(e)
    completed = [[e for e in own if e.type == "action.completed"] for own in actions.values()]
    late = sum(
        bool(done) and done[0].time("completed_at") > done[0].time("due_at") for done in completed
    )

    def first(type_: str) -> Any:
        return next((as_utc(e.occurred_at) for e in states if e.type == type_), None)

    def last(key: str) -> Any:
        return next((e.get(key) for e in reversed(events) if e.get(key) is not None), None)

    return {
        "problem_id": problem_id,
        "incident_id": last("incident_id"),
        "status": PROBLEM_STATUS[states[-1].type] if states else None,
        "opened_at": first("problem.opened"),
        "cause_identified_at": first("problem.cause_identified"),
        "effect_checked_at": as_utc(checks[-1].occurred_at) if checks else None,
        "effective": checks[-1].type == "problem.effect_verified" if checks else None,
        "rate_before": last("rate_before"),
        "rate_after": last("rate_after"),
        "actions": len(actions),
        "actions_completed": sum(bool(done) for done in completed),
        "actions_late": late,
    }
