"""Case rules: the lifecycle, who gets a case, when it is due, and what a customer's answer does."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from services.ownership.calendar import ALWAYS, Calendar, add_business_hours
from shared.errors import Conflict, DomainError, Forbidden
from shared.events import OUTCOME_CANNOT_FULFIL, OUTCOME_RESOLVED
from shared.timestamps import as_utc

PRIORITIES = ("P1", "P2", "P3", "P4")


class Status(StrEnum):
    received = "received"
    assigned = "assigned"
    in_progress = "in_progress"
    waiting_on_department = "waiting_on_department"
    resolution_proposed = "resolution_proposed"
    reopened = "reopened"
    closed = "closed"
    # Folded into another case on the same matter: worked there, closed with it.
    merged = "merged"


WORKABLE = frozenset(
    {Status.assigned, Status.in_progress, Status.waiting_on_department, Status.reopened}
)
# Open for work: a merged case waits for the one it was merged into, not for its owner.
OPEN = frozenset(set(Status) - {Status.closed, Status.merged})

# The only way into `closed` is the customer's confirmation; no command lists it as a target.
TRANSITIONS: dict[str, tuple[frozenset[Status], Status | None]] = {
    "assign": (frozenset({Status.received}), Status.assigned),
    "create_task": (WORKABLE, Status.waiting_on_department),
    "complete_last_task": (frozenset({Status.waiting_on_department}), Status.in_progress),
    "propose_resolution": (WORKABLE, Status.resolution_proposed),
    # The way out when the customer cannot or did not answer: ask again, or take it back.
    "reask": (frozenset({Status.resolution_proposed}), Status.resolution_proposed),
    "withdraw_resolution": (frozenset({Status.resolution_proposed}), Status.in_progress),
    "confirm": (frozenset({Status.resolution_proposed}), Status.closed),
    "reject": (frozenset({Status.resolution_proposed}), Status.reopened),
    # An independent audit found the customer's problem not solved after all.
    "audit_fail": (frozenset({Status.closed}), Status.reopened),
    "reassign": (OPEN, None),
    # A supervisor folds a duplicate into the case of the same matter, and can take it back.
    "merge": (frozenset({Status.assigned, Status.in_progress, Status.reopened}), Status.merged),
    "unmerge": (frozenset({Status.merged}), Status.in_progress),
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
    skills: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    away: bool = False
    on_shift: bool = True

    @property
    def has_room(self) -> bool:
        return self.capacity is None or self.open_cases < self.capacity

    @property
    def free(self) -> float:
        return float("inf") if self.capacity is None else self.capacity - self.open_cases

    def fits(self, needs: "Needs") -> bool:
        """Available, with room, and able to handle the topic and speak the customer's language."""
        skilled = (
            not self.skills
            or not needs.topics
            or any(normalise_key(s) in needs.topics for s in self.skills)
        )
        speaks = not self.languages or speaks_language(self.languages, needs.language)
        return not self.away and self.has_room and skilled and speaks


def speaks_language(languages: Iterable[str], wanted: str | None) -> bool:
    """Whether someone who speaks `languages` can answer in `wanted` (BCP 47): the language is
    what counts, not the region or script tag, so `zh` serves `zh-CN` and `en-GB` serves `en`."""
    if wanted is None:
        return True
    primary = _primary(wanted)
    return any(_primary(language) == primary for language in languages)


def _primary(tag: str) -> str:
    return tag.strip().replace("_", "-").split("-", 1)[0].lower()


@dataclass(frozen=True)
class Needs:
    # No topics: any owner's skills will do.
    topics: frozenset[str] = frozenset()
    language: str | None = None


def keeps_previous_owner(previous: Candidate | None, needs: Needs) -> bool:
    """Whether the customer's previous owner takes their new case, in whatever team: the customer
    should not have to tell the story again, even in another team's topic, so only availability,
    room and the customer's language count, not skills."""
    return previous is not None and previous.fits(Needs(language=needs.language))


def pick_owner(candidates: Iterable[Candidate], lead: str, needs: Needs) -> tuple[str, str]:
    """(owner, rule) within a team: most free capacity (those on shift first, so a case waits for
    the next shift only when nobody is working), else the lead."""
    fitting = [c for c in candidates if c.fits(needs)]
    if not fitting:
        return lead, "team_lead"
    best = min(fitting, key=lambda c: (not c.on_shift, -c.free, c.open_cases, c.owner_id))
    return best.owner_id, "most_free_capacity"


def due_after(start: datetime, hours: float, cal: Calendar = ALWAYS) -> datetime:
    """`hours` of the calendar's working time after `start`."""
    return add_business_hours(as_utc(start), hours, cal)


@dataclass(frozen=True)
class Deadline:
    warning_at: datetime
    due_at: datetime


def deadline(start: datetime, hours: float, fraction: float, cal: Calendar) -> Deadline:
    """When to warn (a fraction of the working time gone) and when the target is breached."""
    return Deadline(due_after(start, hours * fraction, cal), due_after(start, hours, cal))


@dataclass(frozen=True)
class CasePolicy:
    hours: Mapping[str, float]
    default_priority: str = "P3"
    warning_fraction: float = 0.75
    calendar: Calendar = ALWAYS
    continuity_days: float = 30


def case_deadline(policy: CasePolicy, start: datetime, priority: str | None) -> Deadline:
    """A case's resolution target in the policy's business hours from when its clock started: by
    its priority, or the default priority until it is prioritised."""
    hours = policy.hours[priority or policy.default_priority]
    return deadline(start, hours, policy.warning_fraction, policy.calendar)


def hours_between(start: datetime, end: datetime) -> float:
    return (as_utc(end) - as_utc(start)) / timedelta(hours=1)


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


def judge_answer(
    status: str, case_channel: str, answer_channel: str, case_proposal: int = 0, answered: int = 0
) -> Verdict:
    """Whether a customer's answer may act on the case: only to the proposal standing now, only
    on its channel. An answer without a number (made before numbers) is taken as to the last."""
    if status != Status.resolution_proposed:
        return Verdict(False, f"the case is {status}, not awaiting the customer's answer")
    if answered and answered != case_proposal:
        return Verdict(
            False, f"answers proposal {answered}, but proposal {case_proposal} stands now"
        )
    if answer_channel != case_channel:
        return Verdict(
            False, f"answered on {answer_channel}, but the complaint came on {case_channel}"
        )
    return Verdict(True, f"customer answered on {case_channel}")


def closing_outcome(proposed_outcome: str | None) -> str:
    """A case closes with the outcome the customer accepted, in the shared vocabulary."""
    return OUTCOME_CANNOT_FULFIL if proposed_outcome == OUTCOME_CANNOT_FULFIL else OUTCOME_RESOLVED


def ensure_case_owner(role: str, subject: str, owner_id: str) -> None:
    """Proposing a resolution is the owner's right alone: no supervisor or admin stands in."""
    if role != "owner" or subject != owner_id:
        raise Forbidden("not_case_owner", f"Only the case owner ({owner_id}) may do this.")


def may_manage(role: str, subject: str, owner_id: str) -> bool:
    return role in {"supervisor", "admin"} or (role == "owner" and subject == owner_id)


def may_acknowledge_task(role: str, subject: str, department: str) -> bool:
    """Acknowledging says the department itself has seen the task: nobody stands in for it."""
    return role == "department" and subject == department


def may_complete_task(role: str, subject: str, department: str) -> bool:
    return role in {"supervisor", "admin"} or (role == "department" and subject == department)


def actor(role: str, subject: str) -> str:
    return f"{role}:{subject}"
