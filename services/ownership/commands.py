"""Use cases behind the owner's commands: proposing a resolution and handing a case over.

Each locks the case first, checks who may act, replays an Idempotency-Key when one is known, then
changes the case, its timeline and its outbox in one unit of work.
"""

from collections.abc import Awaitable, Callable

from sqlalchemy import update

from services.ownership import organisation_store, regulatory
from services.ownership.case import Case
from services.ownership.domain import (
    actor,
    ensure_case_owner,
    may_manage,
    transition,
)
from services.ownership.models import cases
from services.ownership.queries import case_view
from services.ownership.repository import (
    append,
    keyed,
    now,
    open_task_count,
    save_case,
    take_case,
)
from services.ownership.schemas import (
    CasePublic,
    ReassignCreate,
    ResolutionCreate,
)
from shared.auth import Principal
from shared.errors import Conflict, DomainError, Forbidden
from shared.events import (
    CaseReassigned,
    CaseResolutionProposed,
    Envelope,
    EventData,
    new_event,
)
from shared.idempotency import once, stored_model
from shared.service import Runtime
from shared.uow import UnitOfWork

PRODUCER = "ownership"


def not_owner(owner_id: str) -> Forbidden:
    return Forbidden("not_case_owner", f"Only the case owner ({owner_id}) or a supervisor may.")


def owned_case(case_id: str, who: Principal) -> Callable[[UnitOfWork], Awaitable[Case]]:
    """Lock the case and let only its owner through (the guard of the owner's own commands)."""

    async def guard(uow: UnitOfWork) -> Case:
        case = await take_case(uow.conn, case_id)
        ensure_case_owner(who.role, who.subject, case.owner_id)
        return case

    return guard


def managed_case(case_id: str, who: Principal) -> Callable[[UnitOfWork], Awaitable[Case]]:
    """Lock the case and let its owner or a supervisor through."""

    async def guard(uow: UnitOfWork) -> Case:
        case = await take_case(uow.conn, case_id)
        if not may_manage(who.role, who.subject, case.owner_id):
            raise not_owner(case.owner_id)
        return case

    return guard


CASE_ANSWER = stored_model(CasePublic)


async def propose_resolution(
    rt: Runtime, case_id: str, body: ResolutionCreate, who: Principal, key: str | None
) -> tuple[CasePublic, bool]:
    """The owner — and only the owner — puts a resolution to the customer."""

    async def propose(uow: UnitOfWork, case: Case) -> CasePublic:
        status = transition("propose_resolution", case.status)
        if open_count := await open_task_count(uow.conn, case_id):
            raise Conflict(
                "open_tasks",
                f"{open_count} department task(s) are still open on this case.",
                open_tasks=open_count,
            )
        number = case.proposal_no + 1
        await save_case(
            uow.conn,
            case_id,
            status=status,
            proposal_no=number,
            proposed_outcome=body.outcome,
            resolution_summary=body.summary,
        )
        detail = {"outcome": body.outcome, "summary": body.summary, "proposal_no": number}
        await append(
            uow.conn,
            case_id,
            "resolution_proposed",
            actor(who.role, who.subject),
            {**detail, "status": status},
        )
        data = CaseResolutionProposed(owner_id=case.owner_id, **detail)
        uow.emit(command_event("case.resolution_proposed", data, case_id))
        await regulatory.reach_step(uow, case_id, "resolution_proposed", None)
        return await case_view(uow.conn, case_id)

    request = keyed(f"resolution:{case_id}", key, body)
    return await once(rt.uow, request, propose, CASE_ANSWER, guard=owned_case(case_id, who))


async def reassign(rt: Runtime, case_id: str, body: ReassignCreate, who: Principal) -> CasePublic:
    """Hand the case over: one statement swaps the owner, so it is never without one."""
    async with rt.uow() as uow:
        case = await take_case(uow.conn, case_id)
        if not may_manage(who.role, who.subject, case.owner_id):
            raise not_owner(case.owner_id)
        transition("reassign", case.status)
        target = await organisation_store.active_owner(uow.conn, body.to_owner_id)
        if target is None:
            raise DomainError("unknown_owner", f"No active owner {body.to_owner_id!r}.", 422)
        if target["away"]:
            raise Conflict("owner_away", f"{target['id']} is away and cannot take cases.")
        if target["id"] == case.owner_id:
            raise Conflict("already_owner", f"{target['id']} already owns this case.")
        await uow.conn.execute(
            update(cases)
            .where(cases.c.id == case_id, cases.c.owner_id == case.owner_id)
            .values(owner_id=target["id"], team_id=target["team_id"], updated_at=now())
        )
        detail = {"from_owner_id": case.owner_id, "to_owner_id": target["id"]}
        detail.update(reason=body.reason, team=target["team_id"])
        await append(uow.conn, case_id, "reassigned", actor(who.role, who.subject), detail)
        data = CaseReassigned(
            from_owner_id=case.owner_id,
            to_owner_id=target["id"],
            reason=body.reason,
            due_at=case.due_at,
            team=target["team_id"],
        )
        uow.emit(command_event("case.reassigned", data, case_id))
        await uow.commit()
    async with rt.uow() as uow:
        return await case_view(uow.conn, case_id)


def command_event(
    type_: str, data: EventData, case_id: str, department: str | None = None
) -> Envelope:
    return new_event(
        type_, data, producer=PRODUCER, complaint_id=case_id, routing_suffix=department
    )
