"""Reads: cases, timelines, tasks and the organisation with each owner's open-case load."""

from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.ownership.domain import OPEN, hours_between
from services.ownership.models import (
    calendars,
    case_links,
    case_targets,
    cases,
    departments,
    owners,
    sla_policy,
    task_slas,
    tasks,
    team_categories,
    teams,
    timeline,
)
from services.ownership.repository import load_case, now, open_task_count, utc_row
from services.ownership.schemas import (
    CasePublic,
    ClockPublic,
    DepartmentPublic,
    OrganisationPublic,
    OwnerLoad,
    TaskPublic,
    TeamPublic,
    TimelineEntry,
)
from shared.errors import NotFound
from shared.timestamps import as_utc


def case_public(row: dict[str, Any], open_tasks: int = 0) -> CasePublic:
    """The case with both clocks: the customer's from receipt, the internal SLA from its start."""
    end = row["closed_at"] or now()
    clock = hours_between(row["customer_clock_started_at"], end)
    breached = row["due_at"] is not None and row["due_at"] < end
    return CasePublic.model_validate(
        {
            **row,
            "team": row["team_id"],
            "open_tasks": open_tasks,
            "customer_clock_hours": round(clock, 4),
            "breached": breached,
        }
    )


async def case_view(conn: AsyncConnection, case_id: str) -> CasePublic:
    case = await load_case(conn, case_id)
    if case is None:
        raise NotFound("case_not_found", f"No case {case_id}.")
    view = case_public(case.as_row(), await open_task_count(conn, case_id))
    profile, clocks = await _clocks(conn, case_id)
    merged = await conn.scalars(
        select(cases.c.id).where(cases.c.merged_into == case_id).order_by(cases.c.created_at)
    )
    links = await conn.execute(
        select(case_links.c.case_id, case_links.c.linked_id).where(
            or_(case_links.c.case_id == case_id, case_links.c.linked_id == case_id)
        )
    )
    return view.model_copy(
        update={
            "policy_profile": profile,
            "clocks": clocks,
            "merged_cases": list(merged),
            "linked_cases": sorted(b if a == case_id else a for a, b in links),
        }
    )


REGULATORY_KINDS = ("policy_applied", "regulatory_warning", "regulatory_breached")
# The timeline entries that tell the clocks: profile, clock names, times and steps, nothing
# personal, so an erasure keeps them and the case still answers how its clocks went.
CLOCK_KINDS = (*REGULATORY_KINDS, "regulatory_stopped")


async def _clocks(conn: AsyncConnection, case_id: str) -> tuple[str | None, list[ClockPublic]]:
    """The regulator's clocks as their timeline entries tell them."""
    rows = await conn.execute(
        select(timeline.c.kind, timeline.c.at, timeline.c.detail)
        .where(
            timeline.c.case_id == case_id,
            timeline.c.kind.in_(CLOCK_KINDS),
        )
        .order_by(timeline.c.id)
    )
    profile, clocks = None, {}
    for kind, at, detail in rows:
        if kind == "policy_applied":
            profile = detail["profile"]
            clocks = {c["clock"]: ClockPublic.model_validate(c) for c in detail["clocks"]}
            continue
        clock = clocks.get(detail.get("clock"))
        if clock is None:
            continue
        if kind == "regulatory_warning":
            update: dict[str, Any] = {"warned": True}
        elif kind == "regulatory_breached":
            update = {"breached": True}
        else:
            update = {"stopped_at": as_utc(at), "stopped_by": detail.get("step")}
        clocks[clock.clock] = clock.model_copy(update=update)
    return profile, list(clocks.values())


async def case_timeline(conn: AsyncConnection, case_id: str) -> list[TimelineEntry]:
    await case_view(conn, case_id)
    rows = await conn.execute(
        select(timeline).where(timeline.c.case_id == case_id).order_by(timeline.c.id)
    )
    return [TimelineEntry.model_validate(utc_row(r)) for r in rows]


async def task_view(conn: AsyncConnection, task_id: str) -> TaskPublic:
    row = (await conn.execute(select(tasks).where(tasks.c.id == task_id))).first()
    if row is None:
        raise NotFound("task_not_found", f"No task {task_id}.")
    return TaskPublic.model_validate(utc_row(row))


async def task_list(
    conn: AsyncConnection,
    *,
    case_id: str | None = None,
    department: str | None = None,
    status: str | None = None,
    limit: int = 500,
) -> list[TaskPublic]:
    query = select(tasks)
    if case_id is not None:
        await case_view(conn, case_id)
        query = query.where(tasks.c.case_id == case_id)
    if department is not None:
        query = query.where(tasks.c.department == department)
    if status is not None:
        query = query.where(tasks.c.status == status)
    rows = await conn.execute(query.order_by(tasks.c.due_at, tasks.c.id).limit(limit))
    return [TaskPublic.model_validate(utc_row(r)) for r in rows]


async def organisation_view(conn: AsyncConnection) -> OrganisationPublic:
    rows = await conn.execute(
        select(cases.c.owner_id, func.count())
        .where(cases.c.status.in_([s.value for s in OPEN]))
        .group_by(cases.c.owner_id)
    )
    load: dict[str, int] = {r[0]: int(r[1]) for r in rows}
    categories: dict[str, list[str]] = {}
    for category, team_id in await conn.execute(select(team_categories)):
        categories.setdefault(team_id, []).append(category)
    people: dict[str, list[OwnerLoad]] = {}
    for o in await conn.execute(select(owners).order_by(owners.c.id)):
        owner = OwnerLoad.model_validate({**o._asdict(), "open_cases": load.get(o.id, 0)})
        people.setdefault(o.team_id, []).append(owner)
    team_list = [
        TeamPublic(
            id=t.id,
            name=t.name,
            lead=t.lead_id,
            default=t.is_default,
            active=t.active,
            categories=sorted(categories.get(t.id, [])),
            owners=people.get(t.id, []),
        )
        for t in await conn.execute(select(teams).order_by(teams.c.id))
    ]
    return OrganisationPublic(
        teams=team_list, departments=await _departments(conn), **await _policy(conn)
    )


async def _departments(conn: AsyncConnection) -> list[DepartmentPublic]:
    catalogue: dict[str, dict[str, float]] = {}
    for department_id, task_type, hours in await conn.execute(select(task_slas)):
        catalogue.setdefault(department_id, {})[task_type] = hours
    return [
        DepartmentPublic(
            id=d.id,
            name=d.name,
            active=d.active,
            tasks=catalogue.get(d.id, {}),
            calendar=d.calendar_id,
        )
        for d in await conn.execute(select(departments).order_by(departments.c.id))
    ]


async def _policy(conn: AsyncConnection) -> dict[str, Any]:
    rows = await conn.execute(select(case_targets.c.priority, case_targets.c.hours))
    targets: dict[str, float] = {r[0]: float(r[1]) for r in rows}
    policy = (await conn.execute(select(sla_policy))).first()
    return {
        "case_targets": targets,
        "warning_fraction": policy.warning_fraction if policy else 0.0,
        "default_priority": policy.default_priority if policy else "",
        "calendar": policy.calendar_id if policy else None,
        "continuity_days": policy.continuity_days if policy else None,
        "calendars": {
            c.id: {"timezone": c.timezone, "hours": c.hours, "holidays": c.holidays}
            for c in await conn.execute(select(calendars).order_by(calendars.c.id))
        },
    }
