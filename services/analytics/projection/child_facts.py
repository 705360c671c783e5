"""Facts of a complaint's department tasks, confirmation requests and audits (events in order)."""

from collections import defaultdict
from typing import Any

from services.analytics.domain import FactEvent, parse_time
from shared.timestamps import as_utc

Rows = list[dict[str, Any]]
_SLA = ("sla.warning", "sla.breached")


def _by(events: list[FactEvent], key: str, *types: str) -> dict[str, list[FactEvent]]:
    grouped: dict[str, list[FactEvent]] = defaultdict(list)
    for e in events:
        if e.type in types:
            value = e.attributes.get(key)
            if value:
                grouped[str(value)].append(e)
    return grouped


def _last(events: list[FactEvent], key: str) -> Any:
    for event in reversed(events):
        value = event.attributes.get(key)
        if value is not None:
            return value
    return None


def tasks(complaint_id: str, events: list[FactEvent]) -> Rows:
    """A task meets its SLA when completed by its due time and never breached."""
    sla = _by(
        [e for e in events if e.type in _SLA and e.attributes.get("subject") == "task"], "id", *_SLA
    )
    rows = []
    for task_id, own in _by(
        events, "task_id", "task.created", "task.acknowledged", "task.completed"
    ).items():
        created = [e for e in own if e.type == "task.created"]
        acknowledged = [e for e in own if e.type == "task.acknowledged"]
        completed = [e for e in own if e.type == "task.completed"]
        due_at = parse_time(_last(own, "due_at"))
        done = completed[0].time("completed_at") if completed else None
        breached = any(e.type == "sla.breached" for e in sla.get(task_id, []))
        late = done is not None and due_at is not None and done > due_at
        rows.append(
            {
                "task_id": task_id,
                "complaint_id": complaint_id,
                "department": _last(own, "department"),
                "type": _last(own, "type"),
                "created_at": as_utc((created or own)[0].occurred_at),
                "due_at": due_at,
                "acknowledged_at": acknowledged[0].time("acknowledged_at")
                if acknowledged
                else None,
                "completed_at": done,
                "warned": any(e.type == "sla.warning" for e in sla.get(task_id, [])),
                "breached": breached,
                "met_sla": False if breached or late else True if done else None,
            }
        )
    return rows


ANSWERS = ("confirmation.confirmed", "confirmation.rejected", "confirmation.unclear")


def confirmations(complaint_id: str, events: list[FactEvent], channel: str | None) -> Rows:
    """One row per request; its answer is the first clear yes or no, else `unclear`."""
    kinds = ("confirmation.requested", "confirmation.reminder_sent", "confirmation.no_answer")
    rows = []
    for request_id, own in _by(events, "request_id", *kinds, *ANSWERS).items():
        requested = [e for e in own if e.type == "confirmation.requested"]
        if not requested and not any(e.type in ANSWERS for e in own):
            continue
        answers = sorted((e for e in own if e.type in ANSWERS), key=lambda e: e.time("received_at"))
        clear = [e for e in answers if e.type != "confirmation.unclear"]
        answer = (clear or answers)[0] if answers else None
        reminders = {
            e.get("reminder_no") or e.event_id for e in own if e.type.endswith("reminder_sent")
        }
        rows.append(
            {
                "request_id": request_id,
                "complaint_id": complaint_id,
                "channel": requested[0].get("channel") if requested else channel,
                "requested_at": requested[0].time("sent_at") if requested else None,
                "reminders": len(reminders),
                "no_answer": any(e.type == "confirmation.no_answer" for e in own),
                "answer": answer.type.split(".")[1] if answer else None,
                "answered_at": answer.time("received_at") if answer else None,
                "answer_channel": answer.get("channel") if answer else None,
                "on_original_channel": answer.get("channel") == channel
                if answer and channel
                else None,
                "attested": bool(answer.get("attested")) if answer else None,
            }
        )
    return rows


def audits(complaint_id: str, events: list[FactEvent]) -> Rows:
    # An audit result without an audit id still counts, as an audit of its own.
    grouped: dict[str, list[FactEvent]] = defaultdict(list)
    for e in events:
        if e.type in ("audit.requested", "audit.completed"):
            grouped[e.get("audit_id") or f"event:{e.event_id}"].append(e)
    rows = []
    for audit_id, own in grouped.items():
        requested = [e for e in own if e.type == "audit.requested"]
        completed = [e for e in own if e.type == "audit.completed"]
        rows.append(
            {
                "audit_id": audit_id,
                "complaint_id": complaint_id,
                "attested": bool(requested[0].get("attested")) if requested else None,
                "requested_at": as_utc(requested[0].occurred_at) if requested else None,
                "completed_at": as_utc(completed[-1].occurred_at) if completed else None,
                "outcome": completed[-1].get("outcome") if completed else None,
            }
        )
    return rows
