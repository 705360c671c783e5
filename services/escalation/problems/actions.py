"""Corrective and preventive actions, their overdue escalation, and the worker that checks."""

import uuid
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update

from services.escalation.ladder import EscalationConfig
from services.escalation.models import actions, idempotency_keys, problems
from services.escalation.notifications import Escalated, record
from services.escalation.problems import effect_measure
from services.escalation.problems.commands import load, public
from services.escalation.problems.problem import ProblemStatus
from services.escalation.problems.schemas import ActionCreate
from services.escalation.problems.verification import not_ahead, verify
from shared.auth import Principal
from shared.errors import Conflict, DomainError, Forbidden, NotFound
from shared.events import ActionEvent, CaseEscalated, new_event
from shared.idempotency import STORED_BODY, Keyed, once, request_fingerprint
from shared.loops import every
from shared.service import Runtime
from shared.uow import UnitOfWork

PRODUCER = "escalation"


def _action_event(type_: str, row: dict[str, Any]) -> Any:
    data = ActionEvent(
        action_id=row["id"],
        problem_id=row["problem_id"],
        kind=row["kind"],
        owner_id=row["owner_id"],
        due_at=row["due_at"],
        completed_at=row["completed_at"],
    )
    return new_event(type_, data, producer=PRODUCER, complaint_id=None)


async def add_action(
    rt: Runtime, problem_id: str, body: ActionCreate, now: datetime, by: str, key: str | None = None
) -> tuple[dict[str, Any], bool]:
    """Add an action, once per Idempotency-Key; returns (problem, replayed)."""
    scope, fp = f"action:{problem_id}", request_fingerprint(body, by)
    return await once(
        rt.uow,
        Keyed(idempotency_keys, scope, key, fp),
        lambda uow, _: _add(uow, problem_id, body, now),
        STORED_BODY,
    )


async def _add(
    uow: UnitOfWork, problem_id: str, body: ActionCreate, now: datetime
) -> dict[str, Any]:
    """A new action re-opens the fix: the effect is measured after the last one is done."""
    problem = await load(uow, problem_id, lock=True)
    problem.refuse_if_closed()
    row = {
        "id": str(uuid.uuid4()),
        "problem_id": problem_id,
        "status": "open",
        "completed_at": None,
        "overdue_notified": False,
        "created_at": now,
        **body.model_dump(),
    }
    await uow.conn.execute(actions.insert().values(**row))
    await uow.conn.execute(
        update(problems)
        .where(problems.c.id == problem_id)
        .values(status=problem.status_with_new_action(), fixed_at=None, updated_at=now)
    )
    uow.emit(_action_event("action.created", row))
    return await public(uow, await load(uow, problem_id))


async def complete_action(
    rt: Runtime,
    problem_id: str,
    action_id: str,
    at: datetime | None,
    who: Principal,
    now: datetime,
    config: EscalationConfig,
) -> dict[str, Any]:
    """The action's owner or a supervisor marks it done (at a time between the action's creation
    and now); the last one starts the measurement once a root cause is recorded."""
    at = at or now
    not_ahead("completed_at", at, now, config)
    async with rt.uow() as uow:
        problem = await load(uow, problem_id, lock=True)
        query = select(actions).where(actions.c.id == action_id, actions.c.problem_id == problem_id)
        found = (await uow.conn.execute(query)).first()
        if found is None:
            raise NotFound("action_not_found", f"No action {action_id} in problem {problem_id}.")
        row = dict(found._mapping)
        if who.role == "owner" and who.subject != row["owner_id"]:
            raise Forbidden("not_action_owner", "Only the action's owner or a supervisor.")
        if row["status"] == "done":
            raise Conflict("action_done", f"Action {action_id} is already done.")
        created_at = row["created_at"]
        if at < created_at:
            raise DomainError(
                "completed_at_before_action",
                f"completed_at {at.isoformat()} is before the action was created.",
                422,
                created_at=created_at.isoformat(),
            )
        row.update(status="done", completed_at=at)
        await uow.conn.execute(
            update(actions).where(actions.c.id == action_id).values(status="done", completed_at=at)
        )
        listed = await uow.conn.execute(select(actions).where(actions.c.problem_id == problem_id))
        everything = [dict(a._mapping) for a in listed]
        if (
            all(a["status"] == "done" for a in everything)
            and problem.status != ProblemStatus.closed
        ):
            fixed_at = max(a["completed_at"] for a in everything)
            await uow.conn.execute(
                update(problems)
                .where(problems.c.id == problem_id)
                .values(status=problem.status_when_fixed(), fixed_at=fixed_at, updated_at=now)
            )
        uow.emit(_action_event("action.completed", row))
        await uow.commit()
        return await public(uow, await load(uow, problem_id))


async def run_checks(rt: Runtime, now: datetime, config: EscalationConfig) -> None:
    """One pass of the worker: verify fixes whose period is over, escalate overdue actions."""
    async with rt.uow() as uow:
        due = await uow.conn.execute(
            select(problems.c.id, problems.c.fixed_at).where(
                problems.c.status == ProblemStatus.verifying, problems.c.cause.is_not(None)
            )
        )
        ready = [
            pid
            for pid, fixed_at in due
            if effect_measure.measurable_at(fixed_at, config.problems) <= now
        ]
    for problem_id in ready:
        async with rt.uow() as uow:
            # The row lock is the claim: a second replica waits here, then finds the problem
            # no longer verifying and leaves it, so the verdict is measured and sent once.
            if (await load(uow, problem_id, lock=True)).status != ProblemStatus.verifying:
                continue
            await verify(uow, problem_id, now, config)
            await uow.commit()
    async with rt.uow() as uow:
        late = await uow.conn.execute(
            select(actions).where(
                actions.c.status == "open",
                actions.c.overdue_notified.is_(False),
                actions.c.due_at < now,
            )
        )
        overdue = [dict(a._mapping) for a in late]
    for action in overdue:
        async with rt.uow() as uow:
            if await _claim_overdue(uow, action["id"]):
                await _escalate_overdue(uow, action, now, config)
                await uow.commit()


async def _claim_overdue(uow: UnitOfWork, action_id: str) -> bool:
    """Mark the action notified only if no replica has yet: the one whose update matches
    escalates it (the loser's UPDATE waits for the winner's row lock, then matches nothing)."""
    claimed = await uow.conn.execute(
        update(actions)
        .where(
            actions.c.id == action_id,
            actions.c.status == "open",
            actions.c.overdue_notified.is_(False),
        )
        .values(overdue_notified=True)
    )
    return bool(claimed.rowcount)


async def _escalate_overdue(
    uow: UnitOfWork, action: dict[str, Any], now: datetime, config: EscalationConfig
) -> None:
    due_at = action["due_at"]
    reason = (
        f"{action['kind']} action {action['id']} of problem {action['problem_id']} "
        f"overdue since {due_at.isoformat()}"
    )
    ladder = (
        ("owner", action["owner_id"]),
        ("head_of_department", config.contacts.head_of_department),
    )
    for step, to in ladder:
        escalation = Escalated(
            subject="action",
            subject_id=action["id"],
            due_at=due_at,
            step=step,
            recipient=to,
            case_id=None,
            reason=reason,
        )
        if await record(uow, escalation, config, now):
            escalated = CaseEscalated(
                level=step, to=to, reason=reason, subject="task", subject_id=action["id"]
            )
            uow.emit(new_event("case.escalated", escalated, producer=PRODUCER, complaint_id=None))


def problem_worker(
    config: EscalationConfig, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
) -> Callable[[Runtime], Coroutine[Any, Any, None]]:
    """The background loop; the clock is a parameter so tests can move time."""

    async def loop(rt: Runtime) -> None:
        seconds = config.problems.check_seconds
        await every(seconds, lambda: run_checks(rt, clock(), config), "problem_checks_failed")

    return loop
