"""The organisation in the database as the use cases read it: routing, owners, policies."""

import functools
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.ownership.calendar import ALWAYS, Calendar, is_working
from services.ownership.domain import OPEN, Candidate, CasePolicy, Status, route_team
from services.ownership.models import (
    calendars,
    case_targets,
    cases,
    departments,
    owners,
    sla_policy,
    task_slas,
    team_categories,
    teams,
)
from services.ownership.organisation import build_calendar


async def team_for(conn: AsyncConnection, category: str, product: str | None) -> str:
    """The team for a category, else for the product, else the default team (`route_team`)."""
    rows = await conn.execute(select(team_categories.c.category, team_categories.c.team_id))
    default = await conn.scalar(select(teams.c.id).where(teams.c.is_default, teams.c.active))
    if default is None:
        raise LookupError("the organisation has no default team; was the organisation loaded?")
    return route_team({r[0]: r[1] for r in rows}, str(default), category, product)


def _open_load(among: Any) -> Any:
    """Open cases per owner, counted only for the owners `among` selects: an index range scan of
    (owner_id, status) per owner instead of grouping every open case of the organisation."""
    return (
        select(cases.c.owner_id, func.count().label("open_cases"))
        .where(cases.c.owner_id.in_(among), cases.c.status.in_([s.value for s in OPEN]))
        .group_by(cases.c.owner_id)
        .subquery()
    )


def _with_load(where: Any) -> Any:
    load = _open_load(select(owners.c.id).where(where))
    return (
        select(owners, func.coalesce(load.c.open_cases, 0).label("load"))
        .select_from(owners.outerjoin(load, load.c.owner_id == owners.c.id))
        .where(where)
    )


async def candidates(conn: AsyncConnection, team_id: str) -> tuple[list[Candidate], str]:
    """The team's assignable owners with their open-case load, and the team's lead."""
    where = and_(owners.c.team_id == team_id, owners.c.assignable, owners.c.active)
    rows = [r._asdict() for r in await conn.execute(_with_load(where))]
    lead = await conn.scalar(select(teams.c.lead_id).where(teams.c.id == team_id))
    shifts = await _calendars(conn, {r["calendar_id"] for r in rows} - {None})
    return [_candidate(r, shifts) for r in rows], str(lead)


async def candidate(conn: AsyncConnection, row: dict[str, Any]) -> Candidate:
    return _candidate(row, await _calendars(conn, {row["calendar_id"]} - {None}))


def _candidate(row: dict[str, Any], shifts: dict[str, Calendar]) -> Candidate:
    on_shift = row["calendar_id"] is None or is_working(
        datetime.now(UTC), shifts.get(row["calendar_id"], ALWAYS)
    )
    return Candidate(
        row["id"],
        int(row["load"]),
        row["capacity"],
        tuple(row["skills"] or ()),
        tuple(row["languages"] or ()),
        bool(row["away"]),
        on_shift,
    )


async def previous_owner(
    conn: AsyncConnection, customer_key: str, since: datetime, exclude: str
) -> str | None:
    """Who owns the customer's open case, or owned one closed since `since`; latest first."""
    recent = cases.c.status != Status.closed.value
    recent = recent | (cases.c.closed_at >= since)
    return await conn.scalar(
        select(cases.c.owner_id)
        .where(cases.c.customer_key == customer_key, cases.c.id != exclude, recent)
        .order_by(cases.c.updated_at.desc())
        .limit(1)
    )


async def owner_candidate(conn: AsyncConnection, owner_id: str) -> tuple[Candidate, str] | None:
    """An assignable active owner with their load, and their team."""
    where = and_(owners.c.id == owner_id, owners.c.assignable, owners.c.active)
    row = (await conn.execute(_with_load(where))).first()
    return (await candidate(conn, row._asdict()), str(row.team_id)) if row else None


async def targets(conn: AsyncConnection) -> tuple[dict[str, float], str]:
    """Resolution hours per priority, and the priority a case runs on until it is prioritised."""
    rows = await conn.execute(select(case_targets.c.priority, case_targets.c.hours))
    default = await conn.scalar(select(sla_policy.c.default_priority))
    return {r[0]: float(r[1]) for r in rows}, str(default or "P3")


async def case_policy(conn: AsyncConnection) -> CasePolicy:
    rows = await conn.execute(select(case_targets.c.priority, case_targets.c.hours))
    hours = {r[0]: float(r[1]) for r in rows}
    policy = (await conn.execute(select(sla_policy))).first()
    if policy is None:
        raise LookupError("no SLA policy; was the organisation loaded?")
    return CasePolicy(
        hours,
        str(policy.default_priority or "P3"),
        float(policy.warning_fraction),
        await calendar(conn, policy.calendar_id),
        float(policy.continuity_days if policy.continuity_days is not None else 30),
    )


async def calendar(conn: AsyncConnection, calendar_id: str | None) -> Calendar:
    """A stored calendar; none named means round the clock."""
    if calendar_id is None:
        return ALWAYS
    return (await _calendars(conn, {calendar_id})).get(calendar_id, ALWAYS)


async def _calendars(conn: AsyncConnection, ids: set[str]) -> dict[str, Calendar]:
    """The stored calendars of `ids`, in one statement (none when `ids` is empty)."""
    if not ids:
        return {}
    rows = await conn.execute(select(calendars).where(calendars.c.id.in_(sorted(ids))))
    return {r.id: _built(r.timezone, _frozen(r.hours), tuple(r.holidays)) for r in rows}


def _frozen(hours: dict[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(hours.items()))


@functools.lru_cache(maxsize=256)
def _built(
    timezone: str, hours: tuple[tuple[str, str], ...], holidays: tuple[str, ...]
) -> Calendar:
    """Parsing a calendar is pure: the same stored row always gives the same (frozen) calendar."""
    return build_calendar(timezone, dict(hours), [date.fromisoformat(d) for d in holidays])


async def department_calendar(conn: AsyncConnection, department: str) -> Calendar:
    calendar_id = await conn.scalar(
        select(departments.c.calendar_id).where(departments.c.id == department)
    )
    return await calendar(conn, calendar_id)


async def catalogue(conn: AsyncConnection) -> dict[tuple[str, str], float]:
    rows = await conn.execute(
        select(task_slas.c.department_id, task_slas.c.task_type, task_slas.c.hours).join(
            departments, and_(departments.c.id == task_slas.c.department_id, departments.c.active)
        )
    )
    return {(r[0], r[1]): float(r[2]) for r in rows}


async def active_owner(conn: AsyncConnection, owner_id: str) -> dict[str, Any] | None:
    row = (
        await conn.execute(select(owners).where(owners.c.id == owner_id, owners.c.active))
    ).first()
    return row._asdict() if row else None


async def catalogue_of(conn: AsyncConnection, department: str) -> dict[str, float]:
    rows = await conn.execute(
        select(task_slas.c.task_type, task_slas.c.hours).where(
            task_slas.c.department_id == department
        )
    )
    return {r[0]: float(r[1]) for r in rows}
