"""Linking complaints to incidents and problems: re-prioritise the ones that join an incident,
count the ones of a problem's pattern."""

from datetime import datetime

from sqlalchemy import and_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from services.escalation import domain
from services.escalation.models import (
    incident_complaints,
    incidents,
    priorities,
    problem_counts,
    problems,
)
from shared.events import ComplaintPrioritized, Envelope, IncidentChanged, new_event
from shared.statements import insert
from shared.uow import UnitOfWork

PRODUCER = "escalation"


async def count_for_problems(conn: AsyncConnection, hashes: list[str], bucket: int) -> None:
    """Open problems watch their pattern's counts so the effect of a fix can be measured."""
    watching = (
        await conn.execute(
            select(problems.c.id).where(
                problems.c.key_hash.in_(hashes), problems.c.status != "closed"
            )
        )
    ).scalars()
    for problem_id in watching:
        await bump(conn, problem_id, bucket)


async def bump(conn: AsyncConnection, problem_id: str, bucket: int, by: int = 1) -> None:
    where = and_(problem_counts.c.problem_id == problem_id, problem_counts.c.bucket == bucket)
    done = await conn.execute(
        update(problem_counts).where(where).values(count=problem_counts.c["count"] + by)
    )
    if not done.rowcount:
        await conn.execute(
            problem_counts.insert().values(problem_id=problem_id, bucket=bucket, count=by)
        )


async def link(
    uow: UnitOfWork,
    cause: Envelope,
    incident_id: str,
    members: list[tuple[str, datetime]],
    rules: domain.RuleBook,
    now: datetime,
    announce: bool = True,
) -> list[str]:
    """Link complaints to an incident, re-prioritise each, and say so when it grew."""
    conn, added = uow.conn, []
    for complaint_id, received_at in members:
        stored = await conn.execute(
            insert(conn, incident_complaints)
            .values(incident_id=incident_id, complaint_id=complaint_id, received_at=received_at)
            .on_conflict_do_nothing()
        )
        if stored.rowcount:
            added.append(complaint_id)
            await reprioritise(uow, cause, complaint_id, incident_id, rules, now)
    if not added:
        return added
    last = max(at for _, at in members)
    row = (await conn.execute(select(incidents).where(incidents.c.id == incident_id))).one()
    await conn.execute(
        update(incidents)
        .where(incidents.c.id == incident_id)
        .values(
            complaint_count=row.complaint_count + len(added),
            last_at=max(row.last_at, last),
            updated_at=now,
        )
    )
    if announce:
        changed = IncidentChanged(incident_id=incident_id, status=row.status, complaint_ids=added)
        uow.emit(
            new_event(
                "incident.updated", changed, producer=PRODUCER, complaint_id=None, cause=cause
            )
        )
    return added


async def reprioritise(
    uow: UnitOfWork,
    cause: Envelope,
    complaint_id: str,
    incident_id: str,
    rules: domain.RuleBook,
    now: datetime,
) -> None:
    """Growth: the complaint joined an incident, so it is more urgent, and says why."""
    row = (
        await uow.conn.execute(select(priorities).where(priorities.c.complaint_id == complaint_id))
    ).first()
    if row is None or row.overridden_by is not None:
        return  # unknown, or a supervisor's override, which an incident does not undo
    priority, reasons = domain.raise_for_incident(
        row.priority, list(row.reasons), incident_id, rules
    )
    if reasons == list(row.reasons):
        return
    raised = await uow.conn.execute(
        update(priorities)
        .where(priorities.c.complaint_id == complaint_id, priorities.c.overridden_by.is_(None))
        .values(priority=priority, reasons=reasons, appraised_at=now)
    )
    if not raised.rowcount:
        return  # overridden meanwhile
    uow.emit(
        new_event(
            "complaint.prioritized",
            ComplaintPrioritized(priority=priority, reasons=reasons),
            producer=PRODUCER,
            complaint_id=complaint_id,
            cause=cause,
        )
    )
