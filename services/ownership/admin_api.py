"""Organisation administration routes (admin role; availability also by supervisors)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from sqlalchemy import select

from services.ownership import admin_commands
from services.ownership.admin_schemas import (
    AuditEntry,
    AuditList,
    AvailabilityPut,
    CalendarPut,
    Changed,
    DepartmentPut,
    OwnerChanged,
    OwnerPut,
    PolicyPut,
    TeamPut,
)
from services.ownership.models import org_audit
from services.ownership.repository import utc_row
from shared.auth import Principal, require
from shared.openapi import error_responses
from shared.service import RuntimeDep

router = APIRouter(prefix="/v1", tags=["organisation"])

Admin = Annotated[Principal, Depends(require("admin"))]
Supervisor = Annotated[Principal, Depends(require("supervisor", "admin"))]
Key = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")]


@router.put("/owners/{owner_id}", response_model=OwnerChanged)
async def put_owner(owner_id: Key, body: OwnerPut, rt: RuntimeDep, who: Admin) -> OwnerChanged:
    """Create or change an owner: team, skills, languages, capacity, away or available."""
    return await admin_commands.put_owner(rt, owner_id, body, who)


@router.put("/owners/{owner_id}/availability", response_model=OwnerChanged)
async def set_availability(
    owner_id: str, body: AvailabilityPut, rt: RuntimeDep, who: Supervisor
) -> OwnerChanged:
    """Mark an owner away (their open cases are handed over) or available."""
    return await admin_commands.set_availability(rt, owner_id, body, who)


@router.put("/teams/{team_id}", response_model=Changed, responses=error_responses(409))
async def put_team(team_id: Key, body: TeamPut, rt: RuntimeDep, who: Admin) -> Changed:
    """Create or change a team: name, lead and the categories routed to it."""
    return await admin_commands.put_team(rt, team_id, body, who)


@router.put("/departments/{department_id}", response_model=Changed)
async def put_department(
    department_id: Key, body: DepartmentPut, rt: RuntimeDep, who: Admin
) -> Changed:
    """Create or change a department with its SLA catalogue and business-hours calendar."""
    return await admin_commands.put_department(rt, department_id, body, who)


@router.put("/calendars/{calendar_id}", response_model=Changed)
async def put_calendar(calendar_id: Key, body: CalendarPut, rt: RuntimeDep, who: Admin) -> Changed:
    """Create or change a business-hours calendar: time zone, weekly hours, holidays."""
    return await admin_commands.put_calendar(rt, calendar_id, body, who)


@router.put("/sla-policy", response_model=Changed)
async def put_policy(body: PolicyPut, rt: RuntimeDep, who: Admin) -> Changed:
    """Case SLA targets per priority in business hours, warning fraction and calendar."""
    return await admin_commands.put_policy(rt, body, who)


@router.get("/organisation/audit", response_model=AuditList)
async def read_audit(
    rt: RuntimeDep,
    _: Admin,
    entity: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> AuditList:
    """Who changed the organisation, when, and what it was before and after; newest first."""
    query = select(org_audit).order_by(org_audit.c.id.desc()).limit(limit)
    if entity is not None:
        query = query.where(org_audit.c.entity == entity)
    async with rt.uow() as uow:
        rows = await uow.conn.execute(query)
        return AuditList(items=[AuditEntry.model_validate(utc_row(r)) for r in rows])
