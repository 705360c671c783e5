"""Analytics rules: what of an event may be kept, and a complaint's facts from its events.

Only allow-listed, non-personal attributes are ever kept (no names, contacts, descriptions,
summaries or evidence). The facts of a complaint are a pure function of the set of its events,
so late, repeated and out-of-order events all end in the same row.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from shared.events import EVENT_DATA, Envelope

_ANSWER = ("request_id", "channel", "received_at", "attested")
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
    "case.closed": ("request_id", "outcome", "attested"),
    "case.reopened": ("request_id", "reopen_count"),
    "case.escalated": ("level", "to"),
    "task.created": ("task_id", "department", "type", "due_at"),
    "task.completed": ("task_id", "department", "type", "due_at", "completed_at"),
    "sla.warning": ("subject", "id", "department", "due_at", "level"),
    "sla.breached": ("subject", "id", "department", "due_at", "level"),
    "confirmation.requested": ("request_id", "channel", "sent_at"),
    "confirmation.confirmed": _ANSWER,
    "confirmation.rejected": _ANSWER,
    "confirmation.unclear": _ANSWER,
    "audit.completed": ("outcome",),
}

# Where two lifecycle events carry the same time, the later stage is the current one.
STAGES = {
    "complaint.received": (0, "received"),
    "case.assigned": (1, "assigned"),
    "case.reassigned": (1, "assigned"),
    "case.resolution_proposed": (2, "resolution_proposed"),
    "case.reopened": (3, "reopened"),
    "case.closed": (4, "closed"),
}


@dataclass(frozen=True)
class FactEvent:
    event_id: str
    type: str
    occurred_at: datetime
    attributes: dict[str, Any]

    def time(self, key: str) -> datetime:
        """The event's own timestamp `key` when it has one, else when the event occurred."""
        value = self.attributes.get(key)
        return as_utc(datetime.fromisoformat(value)) if value else as_utc(self.occurred_at)


def as_utc(moment: datetime) -> datetime:
    # SQLite keeps no offset; every timestamp in this service is written in UTC.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def event_attributes(envelope: Envelope) -> dict[str, Any]:
    """The allow-listed attributes of an event, JSON-ready; nothing for types not listed."""
    keep = ATTRIBUTES.get(envelope.type)
    if not keep or envelope.type not in EVENT_DATA:
        return {}
    data = envelope.parsed().model_dump(mode="json", by_alias=True)
    return {key: data[key] for key in keep if data.get(key) is not None}


def project(events: Iterable[FactEvent]) -> dict[str, Any]:
    """The complaint_facts columns (all but the key) that a complaint's events establish."""
    ordered = sorted(events, key=lambda e: (as_utc(e.occurred_at), e.event_id))

    def of(*types: str) -> list[FactEvent]:
        return [e for e in ordered if e.type in types]

    received = next(iter(of("complaint.received")), None)
    facts: dict[str, Any] = dict.fromkeys(("reference", "channel", "category", "product", "region"))
    if received:
        facts.update({k: received.attributes.get(k) for k in facts})
    facts["received_at"] = received.time("received_at") if received else None
    facts.update(_ownership(of("case.assigned", "case.reassigned")))
    facts["priority"] = _last(of("complaint.prioritized"), "priority")
    facts["first_proposed_at"] = _first_time(of("case.resolution_proposed"))
    facts.update(_closure(ordered, facts["channel"]))
    facts["rejections"] = len(of("confirmation.rejected"))
    reopened = of("case.reopened")
    facts["reopen_count"] = max(
        [len(reopened)] + [int(e.attributes.get("reopen_count", 0)) for e in reopened]
    )
    facts["status"] = _status(ordered)
    return facts


def _ownership(events: list[FactEvent]) -> dict[str, Any]:
    assigned = [e for e in events if e.type == "case.assigned"]
    owners = [e.attributes.get("owner_id") or e.attributes.get("to_owner_id") for e in events]
    return {
        "owner_id": owners[-1] if owners else None,
        "team": _last(assigned, "team"),
        "assigned_at": _first_time(assigned),
    }


def _closure(ordered: list[FactEvent], channel: str | None) -> dict[str, Any]:
    # Only a yes on the complaint's own channel is the customer's confirmation.
    yeses = [
        e
        for e in ordered
        if e.type == "confirmation.confirmed"
        and (channel is None or e.attributes.get("channel") == channel)
    ]
    first_yes = min(yeses, key=lambda e: e.time("received_at"), default=None)
    closed = next((e for e in ordered if e.type == "case.closed"), None)
    proposals = [e for e in ordered if e.type == "case.resolution_proposed"]
    attesting = closed or first_yes
    return {
        "confirmed_at": first_yes.time("received_at") if first_yes else None,
        "closed_at": as_utc(closed.occurred_at) if closed else None,
        "outcome": closed.attributes.get("outcome") if closed else _last(proposals, "outcome"),
        "attested": bool(attesting.attributes.get("attested")) if attesting else None,
    }


def _status(ordered: list[FactEvent]) -> str | None:
    stages = [(as_utc(e.occurred_at), *STAGES[e.type]) for e in ordered if e.type in STAGES]
    if any(stage == "closed" for *_, stage in stages):
        return "closed"
    return max(stages)[2] if stages else None


def _last(events: list[FactEvent], key: str) -> Any:
    values = [e.attributes[key] for e in events if e.attributes.get(key) is not None]
    return values[-1] if values else None


def _first_time(events: list[FactEvent]) -> datetime | None:
    return min((as_utc(e.occurred_at) for e in events), default=None)
