"""SLA timers in the database: planned with the case or task, fired exactly once by any replica.

Case timers emit `sla.warning` / `sla.breached` without a routing suffix: a case belongs to a
team, not to a department, and `sla.breached.#` still matches it. Task timers carry the task's
department as suffix, so each department binds only its own. A timer is marked fired in the
same transaction that writes its event to the outbox, so a crash either does both or neither.
"""

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import delete, exists, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from services.ownership import organisation_store, regulatory
from services.ownership.domain import OPEN, Deadline, case_deadline, deadline
from services.ownership.models import cases, tasks, timers
from services.ownership.repository import now
from shared.events import Envelope, SlaEvent, new_event
from shared.loops import every
from shared.service import Runtime
from shared.timestamps import as_utc

PRODUCER = "ownership"
WARNING, BREACH = "warning", "breach"
EVENT_TYPE = {WARNING: "sla.warning", BREACH: "sla.breached"}
Clock = Callable[[], datetime]


async def plan(
    conn: AsyncConnection,
    subject: str,
    subject_id: str,
    case_id: str,
    when: Deadline,
    department: str | None = None,
) -> None:
    """Replace the subject's pending timers with a warning and a breach at the new times."""
    await cancel(conn, subject_id)
    at = now()
    base: dict[str, Any] = {"subject": subject, "subject_id": subject_id, "case_id": case_id}
    base.update(department=department, created_at=at, sla_due_at=when.due_at)
    await conn.execute(
        timers.insert(),
        [
            {**base, "kind": WARNING, "due_at": when.warning_at},
            {**base, "kind": BREACH, "due_at": when.due_at},
        ],
    )


async def cancel(conn: AsyncConnection, subject_id: str) -> None:
    """Pending timers go when the subject is done or replanned; fired ones stay as history."""
    await conn.execute(
        delete(timers).where(timers.c.subject_id == subject_id, timers.c.fired_at.is_(None))
    )


def due_query(at: datetime, limit: int) -> Any:
    """Oldest due first, read through the partial index; replicas skip each other's rows."""
    return (
        select(timers)
        .where(timers.c.fired_at.is_(None), timers.c.due_at <= at)
        .order_by(timers.c.due_at, timers.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )


async def fire_due(rt: Runtime, at: datetime | None = None, limit: int = 100) -> int:
    """Fire the timers due at `at` in one unit of work; returns how many fired."""
    at = at or now()
    async with rt.uow() as uow:
        fired = 0
        for row in await uow.conn.execute(due_query(at, limit)):
            # The guarded update is what makes a timer fire once where SKIP LOCKED is not
            # available (SQLite): a second transaction finds it fired and emits nothing.
            claimed = await uow.conn.execute(
                update(timers)
                .where(timers.c.id == row.id, timers.c.fired_at.is_(None))
                .values(fired_at=at)
            )
            if claimed.rowcount:
                timer = row._asdict()
                if timer["subject"] == regulatory.CLOCK:
                    uow.emit(await regulatory.fired(uow.conn, timer, at))
                else:
                    uow.emit(sla_event(timer))
                fired += 1
        await uow.commit()
    return fired


def sla_event(timer: dict[str, Any]) -> Envelope:
    data = SlaEvent(
        subject=timer["subject"],
        id=timer["subject_id"],
        department=timer["department"],
        due_at=as_utc(timer["sla_due_at"]),
        level=timer["kind"],
    )
    suffix = timer["department"] if timer["subject"] == "task" else None
    return new_event(
        EVENT_TYPE[timer["kind"]],
        data,
        producer=PRODUCER,
        complaint_id=timer["case_id"],
        routing_suffix=suffix,
    )


def timer_worker(poll_seconds: float, batch: int, clock: Clock = now) -> Any:
    """A background loop for the service spec: fire what is due, then poll again."""

    async def loop(rt: Runtime) -> None:
        async def full_batch() -> bool:
            return await fire_due(rt, clock(), batch) == batch

        await every(poll_seconds, full_batch, "timer_scan_failed", drain=True)

    return loop


async def plan_missing(conn: AsyncConnection) -> int:
    """Open cases and tasks from before timers existed get theirs, once; returns how many."""
    policy = await organisation_store.case_policy(conn)
    untimed = ~exists().where(timers.c.subject_id == cases.c.id)
    rows = await conn.execute(
        select(cases.c.id, cases.c.sla_started_at, cases.c.priority).where(
            cases.c.status.in_([s.value for s in OPEN]), untimed
        )
    )
    planned = 0
    for case_id, started, priority in rows.all():
        when = case_deadline(policy, started, priority)
        await plan(conn, "case", case_id, case_id, when)
        planned += 1
    catalogue = await organisation_store.catalogue(conn)
    untimed_task = ~exists().where(timers.c.subject_id == tasks.c.id)
    open_tasks = await conn.execute(select(tasks).where(tasks.c.status == "open", untimed_task))
    for task in open_tasks.all():
        cal = await organisation_store.department_calendar(conn, task.department)
        task_hours = catalogue.get((task.department, task.type))
        if task_hours is None:  # the task type left the catalogue: its stored due time still stands
            when = Deadline(as_utc(task.due_at), as_utc(task.due_at))
        else:
            when = deadline(task.created_at, task_hours, policy.warning_fraction, cal)
        await plan(conn, "task", task.id, task.case_id, when, task.department)
        planned += 1
    return planned
