"""Verifying a fix's effect: on the server's clock, only with a recorded root cause, and
against the pattern's rate before the problem began."""

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from services.escalation.ladder import EscalationConfig
from services.escalation.models import incidents, problem_counts, problems
from services.escalation.problems import effect_measure
from services.escalation.problems.commands import load, problem_event, public
from services.escalation.problems.problem import Problem, ProblemStatus
from shared.errors import Conflict, DomainError
from shared.events import IncidentChanged, new_event
from shared.service import Runtime
from shared.uow import UnitOfWork

PRODUCER = "escalation"


def not_ahead(name: str, at: datetime, now: datetime, config: EscalationConfig) -> None:
    """A time a client gives is the server's clock at most: never beyond the allowed skew."""
    if at > now + timedelta(seconds=config.problems.clock_skew_seconds):
        raise DomainError(
            f"{name}_in_future",
            f"{name} {at.isoformat()} is later than the server's clock {now.isoformat()}.",
            422,
            now=now.isoformat(),
        )


async def verify(
    uow: UnitOfWork, problem_id: str, as_of: datetime, config: EscalationConfig
) -> Problem:
    """Compare the pattern's complaint rate after the fix with its rate before the problem began;
    close only if it fell, and only with a root cause on record."""
    problem = await load(uow, problem_id, lock=True)
    problem.refuse_unless_verifiable()
    fixed_at = problem.fixed_at
    assert fixed_at is not None, "a problem is verifying only once its actions are done"
    ready_at = effect_measure.measurable_at(fixed_at, config.problems)
    if as_of < ready_at:
        raise Conflict(
            "verification_period_not_over",
            f"The effect can be measured from {ready_at.isoformat()}.",
            ready_at=ready_at.isoformat(),
        )
    rows = await uow.conn.execute(
        select(problem_counts).where(problem_counts.c.problem_id == problem_id)
    )
    counts = {r.bucket: r._mapping["count"] for r in rows}
    measured = effect_measure.measure(
        counts,
        onset=problem.onset_at or problem.created_at,
        fixed_at=fixed_at,
        as_of=as_of,
        baseline=problem.baseline_rate,
        rules=config.problems,
        config=config.detector,
    )
    status = ProblemStatus.closed if measured.shown else ProblemStatus.effect_not_shown
    changes = {
        "status": status,
        "rate_before": measured.rate_before,
        "rate_after": measured.rate_after,
        "updated_at": as_of,
    }
    await uow.conn.execute(update(problems).where(problems.c.id == problem_id).values(**changes))
    problem = problem.changed(**changes)
    if measured.shown and problem.incident_id:
        await _resolve_incident(uow, problem.incident_id, as_of)
    type_ = "problem.effect_verified" if measured.shown else "problem.effect_not_shown"
    rates = {"rate_before": measured.rate_before, "rate_after": measured.rate_after}
    uow.emit(problem_event(type_, problem, cause=problem.cause, **rates))
    return problem


async def _resolve_incident(uow: UnitOfWork, incident_id: str, at: datetime) -> None:
    """The fix worked: the incident it came from stops linking complaints."""
    resolved = await uow.conn.execute(
        update(incidents)
        .where(incidents.c.id == incident_id, incidents.c.status.in_(("open", "confirmed")))
        .values(status="resolved", updated_at=at)
    )
    if resolved.rowcount:
        changed = IncidentChanged(incident_id=incident_id, status="resolved")
        uow.emit(new_event("incident.updated", changed, producer=PRODUCER, complaint_id=None))


async def verify_now(
    rt: Runtime, problem_id: str, as_of: datetime | None, now: datetime, config: EscalationConfig
) -> dict[str, Any]:
    """Verify on request: as of now, or of a moment that is not in the future."""
    as_of = as_of or now
    not_ahead("as_of", as_of, now, config)
    async with rt.uow() as uow:
        problem = await verify(uow, problem_id, as_of, config)
        await uow.commit()
        return await public(uow, problem)
