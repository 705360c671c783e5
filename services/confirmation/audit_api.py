"""Audit routes: the auditor's list and their finding. Never the case owner."""

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request

from services.confirmation import audits
from services.confirmation.schemas import AuditPublic, AuditResult
from services.confirmation.settings import ConfirmationRuntimeDep
from shared.auth import Principal, require
from shared.openapi import error_responses

router = APIRouter(prefix="/v1", tags=["audits"])

Auditor = Annotated[Principal, Depends(require("supervisor", "admin"))]


@router.get("/audits", response_model=list[AuditPublic])
async def list_audits(
    rt: ConfirmationRuntimeDep,
    who: Auditor,
    status: Annotated[Literal["open", "overdue", "passed", "failed"] | None, Query()] = None,
) -> list[AuditPublic]:
    """Audits given to the calling supervisor (every audit for an admin); `overdue`: open ones
    past their due time, already escalated with `audit.overdue`."""
    rows = await audits.list_audits(rt, who, status)
    return [AuditPublic.model_validate(r) for r in rows]


@router.post(
    "/audits/{audit_id}/result", response_model=AuditPublic, responses=error_responses(409)
)
async def record_result(
    rt: ConfirmationRuntimeDep,
    who: Auditor,
    request: Request,
    body: AuditResult,
    audit_id: Annotated[str, Path(min_length=1, max_length=36)],
) -> AuditPublic:
    """Whether the customer confirms the problem is really solved; failed reopens the case."""
    row = await audits.record_result(
        rt, audit_id, body.outcome, body.notes, who, request.app.state.clock()
    )
    return AuditPublic.model_validate(row)
