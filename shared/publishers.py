"""Who may speak for whom: the one table of which service publishes which event type.

Each service logs in to the broker as its own user (named as the service), may write only the
routing keys of the types below (topic permissions), and consumers refuse an event whose
publisher is not the type's owner. The customer's voice (`confirmation.*`) is confirmation's.
"""

import re

from shared.events import EVENT_DATA

SERVICES: tuple[str, ...] = ("intake", "escalation", "ownership", "confirmation", "analytics")

OWNERS: dict[str, str] = {
    "complaint.received": "intake",
    "complaint.contact_added": "intake",
    "complaint.contact_split": "intake",
    "complaint.prioritized": "escalation",
    "case.escalated": "escalation",
    "incident.detected": "escalation",
    "incident.updated": "escalation",
    "problem.opened": "escalation",
    "problem.cause_identified": "escalation",
    "problem.effect_verified": "escalation",
    "problem.effect_not_shown": "escalation",
    "action.created": "escalation",
    "action.completed": "escalation",
    "case.assigned": "ownership",
    "case.reassigned": "ownership",
    "case.resolution_proposed": "ownership",
    "case.closed": "ownership",
    "case.reopened": "ownership",
    "case.confirmation_reasked": "ownership",
    "case.resolution_withdrawn": "ownership",
    "task.created": "ownership",
    "task.completed": "ownership",
    "task.acknowledged": "ownership",
    "sla.warning": "ownership",
    "sla.breached": "ownership",
    "confirmation.requested": "confirmation",
    "confirmation.confirmed": "confirmation",
    "confirmation.rejected": "confirmation",
    "confirmation.unclear": "confirmation",
    "confirmation.reminder_sent": "confirmation",
    "confirmation.no_answer": "confirmation",
    "customer.message_received": "confirmation",
    "customer.satisfaction_given": "confirmation",
    "complaint.submitted": "confirmation",
    "audit.requested": "confirmation",
    "audit.completed": "confirmation",
    "audit.overdue": "confirmation",
    "case.policy_applied": "ownership",
    "case.final_response_sent": "ownership",
    "case.message_sent": "ownership",
    "case.merged": "ownership",
    "case.unmerged": "ownership",
    "regulatory.warning": "ownership",
    "regulatory.breached": "ownership",
    "regulatory.stopped": "ownership",
    "customer.erasure_requested": "intake",
    "customer.erased.intake": "intake",
    "customer.erased.escalation": "escalation",
    "customer.erased.ownership": "ownership",
    "customer.erased.confirmation": "confirmation",
    "customer.erased.analytics": "analytics",
}

# Types whose routing key may carry a suffix (`task.created.<department>`, `case.escalated.<d>`,
# `regulatory.breached.<profile>`): department queues bind to their own department's keys.
SCOPED_PREFIXES: tuple[str, ...] = ("task.", "sla.", "case.escalated", "regulatory.")

assert set(OWNERS) == set(EVENT_DATA), "every event type has exactly one owner"


def owner_of(event_type: str) -> str | None:
    return OWNERS.get(event_type)


def owned_by(service: str) -> list[str]:
    return sorted(t for t, owner in OWNERS.items() if owner == service)


def may_carry_suffix(event_type: str) -> bool:
    return event_type.startswith(SCOPED_PREFIXES)


def write_pattern(service: str) -> str:
    """The broker's topic-permission regex for the routing keys `service` may publish."""
    keys = [re.escape(t) + (r"(\..+)?" if may_carry_suffix(t) else "") for t in owned_by(service)]
    return f"^({'|'.join(keys)})$" if keys else "^$"
