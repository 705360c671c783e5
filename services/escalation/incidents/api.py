"""Incident HTTP routes: read the Kepner-Tregoe specification, confirm, dismiss, merge."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, Field

from services.escalation.incidents import commands as incidents_commands
from services.escalation.incidents.schemas import IncidentPublic, IncidentSummary
from shared.auth import Principal, require
from shared.openapi import error_responses
from shared.service import RuntimeDep

router = APIRouter(prefix="/v1/incidents", tags=["incidents"])

Reader = Annotated[Principal, Depends(require("owner", "supervisor", "admin", "analyst"))]
Supervisor = Annotated[Principal, Depends(require("supervisor", "admin"))]
IncidentId = Annotated[str, Path(min_length=1, max_length=36)]
Status = Annotated[str | None, Query(pattern="^(open|confirmed|dismissed|merged|resolved)$")]


class MergeRequest(BaseModel):
    into: str = Field(min_length=1, max_length=36, description="The incident that remains.")


@router.get("", response_model=list[IncidentSummary])
async def list_incidents(
    rt: RuntimeDep,
    _: Reader,
    status: Status = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[dict[str, Any]]:
    """Incidents, newest first, optionally of one status."""
    return await incidents_commands.list_incidents(rt, status, limit)


@router.get("/{incident_id}", response_model=IncidentPublic)
async def read_incident(incident_id: IncidentId, rt: RuntimeDep, _: Reader) -> dict[str, Any]:
    """One incident with its complaints and its IS / IS NOT specification."""
    return await incidents_commands.get_incident(rt, incident_id)


@router.post(
    "/{incident_id}/confirm", response_model=IncidentPublic, responses=error_responses(409)
)
async def confirm(incident_id: IncidentId, rt: RuntimeDep, who: Supervisor) -> dict[str, Any]:
    """A supervisor confirms the incident is real."""
    return await incidents_commands.decide(rt, incident_id, "confirm", who.subject)


@router.post(
    "/{incident_id}/dismiss", response_model=IncidentPublic, responses=error_responses(409)
)
async def dismiss(incident_id: IncidentId, rt: RuntimeDep, who: Supervisor) -> dict[str, Any]:
    """A supervisor dismisses a false alarm; it links no more complaints."""
    return await incidents_commands.decide(rt, incident_id, "dismiss", who.subject)


@router.post("/{incident_id}/merge", response_model=IncidentPublic, responses=error_responses(409))
async def merge(
    incident_id: IncidentId, body: MergeRequest, rt: RuntimeDep, _: Supervisor
) -> dict[str, Any]:
    """Merge this incident into another one."""
    return await incidents_commands.merge(rt, incident_id, body.into)
