"""Use cases behind department tasks: the owner asks a department and keeps the case."""

import uuid
from typing import Any

from sqlalchemy import update

from services.ownership import organisation_store, timers
from services.ownership.case import Case
from services.ownership.commands import command_event, managed_case
from services.ownership.domain import (
    Status,
    actor,
    deadline,
    may_acknowledge_task,
    may_complete_task,
    task_hours,
    transition,
)
from services.ownership.models import tasks
from services.ownership.queries import task_view
from services.ownership.repository import (
    DONE_TASK,
    OPEN_TASK,
    append,
    keyed,
    now,
    open_task_count,
    save_case,
    take_case,
)
from services.ownership.schemas import TaskComplete, TaskCreate, TaskPublic
from shared.auth import Principal
from shared.errors import Conflict, Forbidden
from shared.events import TaskAcknowledged, TaskCompleted, TaskCreated
from shared.idempotency import once, stored_model
from shared.service import Runtime
from shared.uow import UnitOfWork


async def create_task(
    rt: Runtime, case_id: str, body: TaskCreate, who: Principal, key: str | None
) -> tuple[TaskPublic, bool]:
    """Ask a department for something; the case stays with its owner, now waiting on them."""

    async def ask(uow: UnitOfWork, case: Case) -> TaskPublic:
        hours = task_hours(await organisation_store.catalogue(uow.conn), body.department, body.type)
        status = transition("create_task", case.status)
        at, policy = now(), await organisation_store.case_policy(uow.conn)
        cal = await organisation_store.department_calendar(uow.conn, body.department)
        when = deadline(at, hours, policy.warning_fraction, cal)
        row = {"id": str(uuid.uuid4()), "case_id": case_id, **body.model_dump()}
        row.update(status=OPEN_TASK, due_at=when.due_at, created_at=at)
        row["created_by"] = actor(who.role, who.subject)
        await uow.conn.execute(tasks.insert().values(**row))
        await timers.plan(uow.conn, "task", row["id"], case_id, when, body.department)
        await save_case(uow.conn, case_id, status=status)
        detail = {k: row[k] for k in ("department", "type", "description")}
        detail.update(task_id=row["id"], due_at=row["due_at"].isoformat(), status=status)
        await append(uow.conn, case_id, "task_created", row["created_by"], detail)
        data = TaskCreated(
            task_id=row["id"], department=body.department, type=body.type, due_at=row["due_at"]
        )
        uow.emit(command_event("task.created", data, case_id, body.department))
        return TaskPublic.model_validate(row)

    request = keyed(f"task:{case_id}", key, body)
    return await once(rt.uow, request, ask, TASK_ANSWER, guard=managed_case(case_id, who))


TASK_ANSWER = stored_model(TaskPublic)


async def complete_task(
    rt: Runtime, task_id: str, body: TaskComplete, who: Principal
) -> TaskPublic:
    """A department reports its task done; the last one hands the case back to its owner."""
    async with rt.uow() as uow:
        task = await task_view(uow.conn, task_id)
        case = await take_case(uow.conn, task.case_id)
        task = await task_view(uow.conn, task_id)
        if not may_complete_task(who.role, who.subject, task.department):
            raise Forbidden(
                "not_task_department", f"Only {task.department} or a supervisor may do this."
            )
        if task.status != OPEN_TASK:
            raise Conflict("task_not_open", f"Task {task_id} is already {task.status}.")
        at, by = now(), actor(who.role, who.subject)
        await uow.conn.execute(
            update(tasks)
            .where(tasks.c.id == task_id)
            .values(status=DONE_TASK, completed_at=at, completed_by=by, note=body.note)
        )
        await timers.cancel(uow.conn, task_id)
        detail: dict[str, Any] = {"task_id": task_id, "department": task.department}
        detail.update(type=task.type, note=body.note)
        if await open_task_count(uow.conn, task.case_id) == 0 and (
            case.status == Status.waiting_on_department
        ):
            detail["status"] = transition("complete_last_task", case.status)
            await save_case(uow.conn, task.case_id, status=detail["status"])
        await append(uow.conn, task.case_id, "task_completed", by, detail)
        data = TaskCompleted(
            task_id=task_id,
            department=task.department,
            type=task.type,
            due_at=task.due_at,
            completed_at=at,
        )
        uow.emit(command_event("task.completed", data, task.case_id, task.department))
        await uow.commit()
    async with rt.uow() as uow:
        return await task_view(uow.conn, task_id)


async def acknowledge_task(rt: Runtime, task_id: str, who: Principal) -> TaskPublic:
    """The department says it has the task; its SLA clock keeps running."""
    async with rt.uow() as uow:
        task = await task_view(uow.conn, task_id)
        await take_case(uow.conn, task.case_id)
        task = await task_view(uow.conn, task_id)
        if not may_acknowledge_task(who.role, who.subject, task.department):
            raise Forbidden("not_task_department", f"Only {task.department} may acknowledge.")
        if task.status != OPEN_TASK:
            raise Conflict("task_not_open", f"Task {task_id} is already {task.status}.")
        if task.acknowledged_at is not None:
            raise Conflict("task_already_acknowledged", f"Task {task_id} is acknowledged.")
        at, by = now(), actor(who.role, who.subject)
        await uow.conn.execute(
            update(tasks)
            .where(tasks.c.id == task_id)
            .values(acknowledged_at=at, acknowledged_by=by)
        )
        detail = {"task_id": task_id, "department": task.department, "type": task.type}
        await append(uow.conn, task.case_id, "task_acknowledged", by, detail)
        data = TaskAcknowledged(
            task_id=task_id,
            department=task.department,
            type=task.type,
            due_at=task.due_at,
            acknowledged_at=at,
        )
        uow.emit(command_event("task.acknowledged", data, task.case_id, task.department))
        await uow.commit()
    async with rt.uow() as uow:
        return await task_view(uow.conn, task_id)
