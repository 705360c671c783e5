"""Case rules: the lifecycle, who gets a case, when it is due, and what a customer's answer does."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from shared.errors import Conflict, DomainError, Forbidden

PRIORITIES = ("P1", "P2", "P3", "P4")


class Status(StrEnum):
    received = "received"
    assigned = "assigned"
    in_progress = "in_progress"
    waiting_on_department = "waiting_on_department"
    resolution_proposed = "resolution_proposed"
    reopened = "reopened"
    closed = "closed"


WORKABLE = frozenset(
    {Status.assigned, Status.in_progress, Status.waiting_on_department, Status.reopened}
)
OPEN = frozenset(set(Status) - {Status.closed})

# The only way into `closed` is the customer's confirmation; no command lists it as a target.
TRANSITIONS: dict[str, tuple[frozenset[Status], Status | None]] = {
    "assign": (frozenset({Status.received}), Status.assigned),
    "create_task": (WORKABLE, Status.waiting_on_department),
    "complete_last_task": (frozenset({Status.waiting_on_department}), Status.in_progress),
    "propose_resolution": (WORKABLE, Status.resolution_proposed),
    "confirm": (frozenset({Status.resolution_proposed}), Status.closed),
    "reject": (frozenset({Status.resolution_proposed}), Status.reopened),
    "reassign": (OPEN, None),
}


class InvalidTransition(Conflict):
    def __init__(self, action: str, status: str):
        message = f"A case in status {status!r} cannot {action.replace('_', ' ')}."
        super().__init__("invalid_transition", message, status=status, action=action)


def transition(action: str, status: str) -> Status:
    """The status after `action`, or InvalidTransition when the case is not in a state for it."""
    allowed, target = TRANSITIONS[action]
    if Status(status) not in allowed:
        raise InvalidTransition(action, status)
    return target if target is not None else Status(status)


def normalise_key(value: str | None) -> str:
    """Categories and products compare case- and space-insensitively."""
    return " ".join((value or "").lower().split())


def route_team(
    categories: Mapping[str, str], default_team: str, category: str, product: str | None
) -> str:
    """The team for a complaint: by category, else by product, else the default team."""
    for key in (category, product):
        team = categories.get(normalise_key(key))
        if team is not None:
            return team
    return default_team


@dataclass(frozen=True)
class Candidate:
    owner_id: str
    open_cases: int
    capacity: int | None = None

    @property
    def has_room(self) -> bool:
        return self.capacity is None or self.open_cases < self.capacity


def choose_owner(candidates: Iterable[Candidate], lead: str) -> str:
    """The least-loaded owner with room (ties by id); all full → least loaded; nobody → the lead."""
    pool = sorted(candidates, key=lambda c: (c.open_cases, c.owner_id))
    if not pool:
        return lead
    with_room = [c for c in pool if c.has_room]
    return (with_room or pool)[0].owner_id


def due_after(start: datetime, hours: float) -> datetime:
    return as_utc(start) + timedelta(hours=hours)


def case_due_at(start: datetime, priority: str, targets: Mapping[str, float]) -> datetime:
    """Wall-clock resolution target for a priority, counted from when the case clock started."""
    return due_after(start, targets[priority])


class NotInCatalogue(DomainError):
    status_code = 422


def task_hours(
    catalogue: Mapping[tuple[str, str], float], department: str, task_type: str
) -> float:
    """Hours a department has for a task type, from the SLA catalogue (department by type)."""
    hours = catalogue.get((department, task_type))
    if hours is not None:
        return hours
    known = sorted({d for d, _ in catalogue})
    if department not in known:
        raise NotInCatalogue(
            "unknown_department", f"No department {department!r}.", departments=known
        )
    types = sorted(t for d, t in catalogue if d == department)
    raise NotInCatalogue(
        "unknown_task_type",
        f"Department {department!r} has no task type {task_type!r}.",
        task_types=types,
    )


@dataclass(frozen=True)
class Verdict:
    applies: bool
    reason: str


def judge_answer(status: str, case_channel: str, answer_channel: str) -> Verdict:
    """Whether a customer's answer may act on the case: only to a proposal, only on its channel."""
    if status != Status.resolution_proposed:
        return Verdict(False, f"the case is {status}, not awaiting the customer's answer")
    if answer_channel != case_channel:
        return Verdict(
            False, f"answered on {answer_channel}, but the complaint came on {case_channel}"
        )
    return Verdict(True, f"customer answered on {case_channel}")


def closing_outcome(proposed_outcome: str | None) -> str:
    return "not_fulfilled" if proposed_outcome == "cannot_fulfil" else "resolved"


def ensure_case_owner(role: str, subject: str, owner_id: str) -> None:
    """Proposing a resolution is the owner's right alone: no supervisor or admin stands in."""
    if role != "owner" or subject != owner_id:
        raise Forbidden("not_case_owner", f"Only the case owner ({owner_id}) may do this.")


def may_manage(role: str, subject: str, owner_id: str) -> bool:
    return role in {"supervisor", "admin"} or (role == "owner" and subject == owner_id)


def may_complete_task(role: str, subject: str, department: str) -> bool:
    return role in {"supervisor", "admin"} or (role == "department" and subject == department)


def as_utc(value: datetime) -> datetime:
    """SQLite hands back naive timestamps; everything stored here is UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def actor(role: str, subject: str) -> str:
    return f"{role}:{subject}"
