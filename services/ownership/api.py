"""Ownership HTTP routes: they only translate to handlers and queries. No route closes a case."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from services.ownership import (
    access,
    commands,
    final_response_commands,
    message_commands,
    note_commands,
    queries,
    queue_queries,
    resolution_commands,
    task_commands,
)
from services.ownership.domain import Status
from services.ownership.schemas import (
    CaseList,
    CasePublic,
    FinalResponseCreate,
    MessageCreate,
    MessagePublic,
    NoteCreate,
    NotePublic,
    OrganisationPublic,
    ReaskCreate,
    ReassignCreate,
    ResolutionCreate,
    TaskComplete,
    TaskCreate,
    TaskList,
    TaskPublic,
    Timeline,
    WithdrawCreate,
)
from shared import accesslog
from shared.auth import Principal, require
from shared.errors import Forbidden
from shared.idempotency import IdempotencyKey, mark_replayed
from shared.openapi import error_responses
from shared.service import RuntimeDep

router = APIRouter(prefix="/v1", tags=["cases"])

Reader = Annotated[Principal, Depends(require("frontend", "owner", "supervisor", "admin"))]
CaseReader = Annotated[
    Principal, Depends(require("frontend", "owner", "supervisor", "admin", "department"))
]
Manager = Annotated[Principal, Depends(require("owner", "supervisor", "admin"))]
Department = Annotated[Principal, Depends(require("department", "supervisor", "admin"))]
DepartmentOnly = Annotated[Principal, Depends(require("department"))]
Supervisor = Annotated[Principal, Depends(require("supervisor", "admin"))]
Limit = Annotated[int, Query(ge=1, le=500)]


@router.get("/cases", response_model=CaseList)
async def list_cases(
    rt: RuntimeDep,
    who: Reader,
    owner_id: str | None = None,
    status: Status | None = None,
    team: str | None = None,
    open: bool = False,
    limit: Limit = 100,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> CaseList:
    """Cases, soonest due first, a page at a time (`next_cursor`); `open`: not closed. An owner
    sees only their own, or with `team` their own team's."""
    async with rt.uow() as uow:
        if who.role == "owner":
            if owner_id not in (None, who.subject):
                raise Forbidden("not_own_cases", "An owner may list only their own cases.")
            if team is None:
                owner_id = who.subject
            elif team != await queue_queries.team_of(uow.conn, who.subject):
                raise Forbidden("not_own_team", "An owner may list only their own team's cases.")
        items, next_cursor = await queue_queries.case_page(
            uow.conn,
            owner_id=owner_id,
            status=status,
            team=team,
            open_only=open,
            limit=limit,
            cursor=cursor,
        )
    return CaseList(items=items, next_cursor=next_cursor)


@router.get("/cases/{case_id}", response_model=CasePublic, responses=error_responses(403, 404))
async def read_case(case_id: str, rt: RuntimeDep, who: CaseReader) -> CasePublic:
    """One case: status, owner, priority and its SLA. An owner reads their own and their team's
    cases (403 `not_your_case`), a department the cases it has a task on (`no_task_on_case`)."""
    async with rt.uow() as uow:
        case = await queries.case_view(uow.conn, case_id)
        await access.check_readable(uow.conn, case, who)
    await accesslog.record(rt, who, case_id, "GET /v1/cases/{id}")
    return case


@router.get(
    "/cases/{case_id}/timeline", response_model=Timeline, responses=error_responses(403, 404)
)
async def read_timeline(case_id: str, rt: RuntimeDep, who: CaseReader) -> Timeline:
    """Everything that happened to the case, oldest first, with who caused it; who may read it
    as for the case. Internal notes are not given to the front ends."""
    async with rt.uow() as uow:
        case = await queries.case_view(uow.conn, case_id)
        await access.check_readable(uow.conn, case, who)
        entries = await queries.case_timeline(uow.conn, case_id)
    return Timeline(case_id=case_id, entries=access.visible_entries(entries, who))


@router.post(
    "/cases/{case_id}/notes",
    status_code=201,
    response_model=NotePublic,
    responses=error_responses(403, 404),
)
async def add_note(
    case_id: str,
    body: NoteCreate,
    rt: RuntimeDep,
    who: Manager,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> NotePublic:
    """An internal note on the timeline (the owner or a supervisor): never sent to the customer,
    not shown to the front ends, no change of state."""
    note, replayed = await note_commands.add_note(rt, case_id, body, who, idempotency_key)
    mark_replayed(response, replayed)
    return note


@router.post("/cases/{case_id}/tasks", status_code=201, response_model=TaskPublic)
async def create_task(
    case_id: str,
    body: TaskCreate,
    rt: RuntimeDep,
    who: Manager,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> TaskPublic:
    """Ask a department for something, due by the SLA catalogue; the owner keeps the case."""
    task, replayed = await task_commands.create_task(rt, case_id, body, who, idempotency_key)
    mark_replayed(response, replayed)
    return task


@router.get("/cases/{case_id}/tasks", response_model=TaskList, responses=error_responses(403, 404))
async def list_case_tasks(case_id: str, rt: RuntimeDep, who: CaseReader) -> TaskList:
    """The department tasks of one case; who may read them as for the case."""
    async with rt.uow() as uow:
        await access.check_readable(uow.conn, await queries.case_view(uow.conn, case_id), who)
        return TaskList(items=await queries.task_list(uow.conn, case_id=case_id))


@router.get("/tasks", response_model=TaskList)
async def list_tasks(
    rt: RuntimeDep,
    who: Department,
    department: str | None = None,
    status: Annotated[str | None, Query(pattern="^(open|completed)$")] = None,
    limit: Limit = 100,
) -> TaskList:
    """A department's work list, soonest due first; a department sees only its own."""
    if who.role == "department":
        if department not in (None, who.subject):
            raise Forbidden("not_own_tasks", "A department may list only its own tasks.")
        department = who.subject
    async with rt.uow() as uow:
        items = await queries.task_list(uow.conn, department=department, status=status, limit=limit)
    return TaskList(items=items)


@router.post(
    "/tasks/{task_id}/acknowledge", response_model=TaskPublic, responses=error_responses(409)
)
async def acknowledge_task(task_id: str, rt: RuntimeDep, who: DepartmentOnly) -> TaskPublic:
    """The department acknowledges its task (that department only)."""
    return await task_commands.acknowledge_task(rt, task_id, who)


@router.post("/tasks/{task_id}/complete", response_model=TaskPublic, responses=error_responses(409))
async def complete_task(
    task_id: str, rt: RuntimeDep, who: Department, body: TaskComplete | None = None
) -> TaskPublic:
    """The department reports its task done."""
    return await task_commands.complete_task(rt, task_id, body or TaskComplete(), who)


@router.post("/cases/{case_id}/resolution", response_model=CasePublic)
async def propose_resolution(
    case_id: str,
    body: ResolutionCreate,
    rt: RuntimeDep,
    who: Manager,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> CasePublic:
    """The owner proposes a resolution; only the customer's confirmation can then close it."""
    case, replayed = await commands.propose_resolution(rt, case_id, body, who, idempotency_key)
    mark_replayed(response, replayed)
    return case


@router.post("/cases/{case_id}/resolution/reask", response_model=CasePublic)
async def reask_customer(
    case_id: str,
    rt: RuntimeDep,
    who: Manager,
    response: Response,
    body: ReaskCreate | None = None,
    idempotency_key: IdempotencyKey = None,
) -> CasePublic:
    """The owner asks the customer again (after an unclear answer, no answer or a dead link):
    a new request on the same channel with a new token; the old token is refused from now."""
    case, replayed = await resolution_commands.reask(
        rt, case_id, body or ReaskCreate(), who, idempotency_key
    )
    mark_replayed(response, replayed)
    return case


@router.post("/cases/{case_id}/resolution/withdraw", response_model=CasePublic)
async def withdraw_resolution(
    case_id: str,
    body: WithdrawCreate,
    rt: RuntimeDep,
    who: Manager,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> CasePublic:
    """The owner takes the proposal back: the case is `in_progress` again, the reason on its
    timeline, and a late answer to the withdrawn proposal changes nothing."""
    case, replayed = await resolution_commands.withdraw(rt, case_id, body, who, idempotency_key)
    mark_replayed(response, replayed)
    return case


@router.post(
    "/cases/{case_id}/final-response",
    response_model=CasePublic,
    responses=error_responses(404, 409),
)
async def send_final_response(
    case_id: str,
    body: FinalResponseCreate,
    rt: RuntimeDep,
    who: Annotated[Principal, Depends(require("owner", "supervisor"))],
    request: Request,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> CasePublic:
    """The final response (outcome, reasons, the profile's referral rights); stops the final
    response clock, also of the cases merged into this one. 409 `final_response_already_sent`,
    `case_closed`, or `case_merged` (send it on the case it was merged into). It does not close
    the case: the customer's yes still decides."""
    case, replayed = await final_response_commands.send_final_response(
        rt, case_id, body, who, idempotency_key, request.app.state.policies
    )
    mark_replayed(response, replayed)
    return case


@router.post(
    "/cases/{case_id}/messages",
    status_code=201,
    response_model=MessagePublic,
    responses=error_responses(404, 409),
)
async def send_message(
    case_id: str,
    body: MessageCreate,
    rt: RuntimeDep,
    who: Manager,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> MessagePublic:
    """Write to the customer on the complaint's own channel (a template, free text, or both; in
    the case's language unless `language` says otherwise). It asks nothing: the customer's
    reply joins the timeline. 409 `case_closed`, or `channel_carries_no_messages` for phone,
    walk-in and letter."""
    message, replayed = await message_commands.send_message(rt, case_id, body, who, idempotency_key)
    mark_replayed(response, replayed)
    return message


@router.post("/cases/{case_id}/reassign", response_model=CasePublic, responses=error_responses(409))
async def reassign_case(
    case_id: str, body: ReassignCreate, rt: RuntimeDep, who: Manager
) -> CasePublic:
    """Hand the case to another owner (supervisor, admin, or the owner handing over)."""
    return await commands.reassign(rt, case_id, body, who)


@router.get("/organisation", response_model=OrganisationPublic, tags=["organisation"])
async def read_organisation(rt: RuntimeDep, _: Supervisor) -> OrganisationPublic:
    """Teams, owners with their open-case load, departments and the SLA catalogue."""
    async with rt.uow() as uow:
        return await queries.organisation_view(uow.conn)
