"""Analytics rules: what of an event may be kept, and which stream of facts it belongs to.

Only allow-listed, non-personal attributes are ever kept (no names, contacts, descriptions,
summaries, notes, titles or evidence). Facts are pure functions of the set of a stream's events
(see projection.py), so late, repeated and out-of-order events all end in the same rows.
"""

from datetime import date, datetime
from functools import cache
from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict, create_model

from shared.events import EVENT_DATA, Envelope
from shared.timestamps import as_utc

_ANSWER = ("request_id", "channel", "received_at", "attested")
_TASK = ("task_id", "department", "type", "due_at")
_SLA = ("subject", "id", "department", "due_at", "level")
_INCIDENT = ("incident_id", "status", "pattern", "complaint_ids", "merged_into")
_PROBLEM = ("problem_id", "incident_id", "rate_before", "rate_after")
_ACTION = ("action_id", "problem_id", "kind", "owner_id", "due_at", "completed_at")
_CLOCK = ("profile", "clock", "started_at", "due_at", "at")
ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "complaint.received": (
        "reference",
        "customer_key",
        "channel",
        "category",
        "product",
        "region",
        "received_at",
    ),
    "complaint.prioritized": ("priority",),
    "case.assigned": ("owner_id", "team", "due_at"),
    "case.reassigned": ("from_owner_id", "to_owner_id", "due_at"),
    "case.resolution_proposed": ("owner_id", "outcome", "proposal_no"),
    "case.confirmation_reasked": ("owner_id", "outcome", "proposal_no"),
    # The reason is the owner's free text: not kept, the read model holds no personal data.
    "case.resolution_withdrawn": ("proposal_no",),
    "case.closed": ("request_id", "outcome", "attested"),
    "case.reopened": ("request_id", "reopen_count"),
    "case.escalated": ("level", "to", "subject", "subject_id", "department"),
    "task.created": _TASK,
    "task.acknowledged": (*_TASK, "acknowledged_at"),
    "task.completed": (*_TASK, "completed_at"),
    "sla.warning": _SLA,
    "sla.breached": _SLA,
    "confirmation.requested": ("request_id", "channel", "sent_at"),
    "confirmation.reminder_sent": ("request_id", "channel", "reminder_no", "sent_at"),
    "confirmation.no_answer": ("request_id", "channel", "reminders_sent"),
    # What the customer wrote is personal: only that they wrote, and how.
    "customer.message_received": ("channel", "received_at"),
    # The score only: the comment is the customer's free text.
    "customer.satisfaction_given": ("channel", "score", "answered_at"),
    "confirmation.confirmed": _ANSWER,
    "confirmation.rejected": _ANSWER,
    "confirmation.unclear": _ANSWER,
    "audit.requested": ("audit_id", "attested"),
    "audit.completed": ("complaint_id", "audit_id", "outcome"),
    "incident.detected": _INCIDENT,
    "incident.updated": _INCIDENT,
    "problem.opened": _PROBLEM,
    "problem.cause_identified": _PROBLEM,
    "problem.effect_verified": _PROBLEM,
    "problem.effect_not_shown": _PROBLEM,
    "action.created": _ACTION,
    "action.completed": _ACTION,
    # Reasons and referral rights are the owner's free text: not kept.
    "case.policy_applied": ("profile", "clocks"),
    "case.final_response_sent": ("owner_id", "profile", "outcome", "language", "sent_at"),
    # Merges name the other case; the supervisor's reason is free text and not kept.
    "case.merged": ("into",),
    "case.unmerged": ("from_case",),
    # The owner's words are free text: only which template and when.
    "case.message_sent": ("owner_id", "template", "language", "sent_at"),
    "regulatory.warning": _CLOCK,
    "regulatory.breached": _CLOCK,
    "regulatory.stopped": _CLOCK,
}
# What of a complaint identifies its customer: masked on erasure (services/analytics/erasure.py).
IDENTIFYING = ("reference", "customer_key")


class FactEvent(NamedTuple):
    """An archived event; a tuple, as a history of them is built for every re-projection."""

    event_id: str
    type: str
    occurred_at: datetime
    attributes: dict[str, Any]

    def time(self, key: str) -> datetime:
        """The event's own timestamp `key` when it has one, else when the event occurred."""
        value = self.attributes.get(key)
        return as_utc(datetime.fromisoformat(value)) if value else as_utc(self.occurred_at)

    def get(self, key: str) -> Any:
        return self.attributes.get(key)


def parse_time(value: str | datetime | None) -> datetime | None:
    if value is None:
        return None
    return as_utc(value if isinstance(value, datetime) else datetime.fromisoformat(value))


def event_attributes(envelope: Envelope) -> dict[str, Any]:
    """The allow-listed attributes of an event, validated and JSON-ready; nothing for types not
    listed. Kept attributes the event type does not declare (from a newer producer) are kept as
    sent."""
    kept = _kept(envelope.type)
    if kept is None:
        return {}
    model, undeclared = kept
    data = model.model_validate(envelope.data).model_dump(
        mode="json", by_alias=True, exclude_none=True
    )
    for key in undeclared:
        if envelope.data.get(key) is not None:
            data[key] = envelope.data[key]
    return data


@cache
def _kept(type_: str) -> tuple[type[BaseModel], tuple[str, ...]] | None:
    """The event type's data model cut down to the kept fields (validating and dumping only what
    is kept costs less than the whole event), and the kept names it does not declare."""
    model, keep = EVENT_DATA.get(type_), ATTRIBUTES.get(type_)
    if model is None or not keep:
        return None
    fields: dict[str, Any] = {
        name: (field.annotation, field)
        for name, field in model.model_fields.items()
        if (field.alias or name) in keep
    }
    declared = {field.alias or name for name, field in model.model_fields.items()}
    config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)
    cut = create_model(f"Kept{model.__name__}", __config__=config, **fields)
    return cut, tuple(key for key in keep if key not in declared)


def stream_of(envelope: Envelope, attributes: dict[str, Any]) -> str | None:
    """The projection an event feeds: `incident:<id>`, `problem:<id>` or `complaint:<id>`."""
    family = envelope.type.split(".", 1)[0]
    if family == "incident" and attributes.get("incident_id"):
        return f"incident:{attributes['incident_id']}"
    if family in ("problem", "action") and attributes.get("problem_id"):
        return f"problem:{attributes['problem_id']}"
    complaint_id = envelope.complaint_id or attributes.get("complaint_id")
    return f"complaint:{complaint_id}" if complaint_id else None


def iso_week(moment: date) -> str:
    year, week, _ = moment.isocalendar()
    return f"{year}-W{week:02d}"


def month(moment: date) -> str:
    return f"{moment.year}-{moment.month:02d}"
