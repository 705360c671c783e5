"""Escalation HTTP routes: priorities and the escalations sent. They only translate."""

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query

from services.escalation import priority_commands, priority_queries
from services.escalation.escalation_queries import EscalationFilter, list_escalations
from services.escalation.schemas import EscalationList, PriorityOverride, PriorityPublic
from shared.auth import Principal, require
from shared.errors import Forbidden
from shared.service import RuntimeDep
from shared.timestamps import IsoDateTime

router = APIRouter(prefix="/v1", tags=["priorities"])

Reader = Annotated[Principal, Depends(require("owner", "supervisor", "admin", "frontend"))]
Supervisor = Annotated[Principal, Depends(require("supervisor", "admin"))]
EscalationReader = Annotated[Principal, Depends(require("owner", "supervisor", "admin"))]
ComplaintId = Annotated[str, Path(min_length=1, max_length=64)]
Filter = Annotated[str | None, Query(min_length=1, max_length=64)]


@router.get("/priorities/{complaint_id}", response_model=PriorityPublic)
async def read_priority(complaint_id: ComplaintId, rt: RuntimeDep, _: Reader) -> PriorityPublic:
    """The priority a complaint has, with the reasons for it and who overrode it, if anyone."""
    return await priority_queries.get_priority(rt, complaint_id)


@router.put("/priorities/{complaint_id}", response_model=PriorityPublic)
async def override_priority(
    complaint_id: ComplaintId, body: PriorityOverride, rt: RuntimeDep, who: Supervisor
) -> PriorityPublic:
    """A supervisor sets the priority, with a reason; the case's SLA is planned again from it.

    Rules and incidents no longer change it afterwards. The same priority and reason again
    changes nothing."""
    return await priority_commands.override(rt, complaint_id, body, who.subject)


@router.get("/escalations", response_model=EscalationList, tags=["escalations"])
async def read_escalations(
    rt: RuntimeDep,
    who: EscalationReader,
    case_id: Filter = None,
    recipient: Filter = None,
    subject: Annotated[Literal["case", "task", "audit", "action"] | None, Query()] = None,
    step: Filter = None,
    since: Annotated[IsoDateTime | None, Query()] = None,
    until: Annotated[IsoDateTime | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
) -> EscalationList:
    """The escalations the ladder sent, newest first. An owner sees only those sent to them."""
    if who.role == "owner":
        if recipient not in (None, who.subject):
            raise Forbidden("not_own_escalations", "An owner sees only escalations to them.")
        recipient = who.subject
    where = EscalationFilter(case_id, recipient, subject, step, since, until)
    return await list_escalations(rt, where, limit, cursor)
