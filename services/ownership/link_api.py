"""A supervisor's links and merges of cases: routes only; the rules are in link_commands.py."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from services.ownership import link_commands
from services.ownership.schemas import CasePublic, LinkCreate, MergeCreate, UnmergeCreate
from shared.auth import Principal, require
from shared.openapi import error_responses
from shared.service import RuntimeDep

router = APIRouter(prefix="/v1/cases", tags=["cases"])

Supervisor = Annotated[Principal, Depends(require("supervisor", "admin"))]
CaseId = Annotated[str, Path(min_length=1, max_length=36)]


@router.post("/{case_id}/links", response_model=CasePublic, responses=error_responses(404, 409))
async def link_case(
    case_id: CaseId, body: LinkCreate, rt: RuntimeDep, who: Supervisor
) -> CasePublic:
    """Link two cases of the same customer (related matters); both timelines say so. Linking
    them again changes nothing."""
    return await link_commands.link(rt, case_id, body.case_id, body.reason, who)


@router.delete(
    "/{case_id}/links/{other_id}", response_model=CasePublic, responses=error_responses(404, 409)
)
async def unlink_case(
    case_id: CaseId, other_id: CaseId, rt: RuntimeDep, who: Supervisor
) -> CasePublic:
    """Remove a link; 404 `link_not_found` if there is none."""
    return await link_commands.unlink(rt, case_id, other_id, who)


@router.post("/{case_id}/merge", response_model=CasePublic, responses=error_responses(404, 409))
async def merge_case(
    case_id: CaseId, body: MergeCreate, rt: RuntimeDep, who: Supervisor
) -> CasePublic:
    """Fold a duplicate into the case of the same matter (`into`): it stops being worked (no SLA
    of its own, out of its owner's queue) and closes when `into` closes on the customer's yes.
    409 `different_customers`, `target_not_open`, `target_merged`, `open_tasks`, or
    `invalid_transition` for a case with a proposal out."""
    return await link_commands.merge(rt, case_id, body.into, body.reason, who)


@router.post("/{case_id}/unmerge", response_model=CasePublic, responses=error_responses(404, 409))
async def unmerge_case(
    case_id: CaseId, body: UnmergeCreate, rt: RuntimeDep, who: Supervisor
) -> CasePublic:
    """Split a merged case off again: `in_progress`, its SLA planned from now."""
    return await link_commands.unmerge(rt, case_id, body.reason, who)
