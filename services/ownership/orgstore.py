"""The organisation in the database: written from the organisation file, read by the use cases."""

from typing import Any

from sqlalchemy import and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from services.ownership.domain import OPEN, Candidate, normalise_key
from services.ownership.models import (
    case_targets,
    cases,
    departments,
    owners,
    sla_policy,
    task_slas,
    team_categories,
    teams,
)
from services.ownership.organisation import OrganisationConfig
from services.ownership.sqlutil import lock_key, upsert


async def sync_organisation(conn: AsyncConnection, org: OrganisationConfig) -> None:
    """Make the database say what the file says; running it twice changes nothing."""
    await lock_key(conn, "organisation")
    await _sync_teams(conn, org)
    await _sync_departments(conn, org)
    await upsert(
        conn, case_targets, [{"priority": p, "hours": h} for p, h in org.case_targets.hours.items()]
    )
    policy = org.case_targets
    await upsert(
        conn,
        sla_policy,
        [
            {
                "id": "default",
                "warning_fraction": policy.warning_fraction,
                "default_priority": policy.default_priority,
            }
        ],
    )


async def _sync_teams(conn: AsyncConnection, org: OrganisationConfig) -> None:
    team_rows = [
        {"id": t, "name": c.name, "lead_id": c.lead, "is_default": c.default, "active": True}
        for t, c in org.teams.items()
    ]
    await upsert(conn, teams, team_rows)
    await conn.execute(update(teams).where(teams.c.id.not_in(org.teams)).values(active=False))
    people: dict[str, dict[str, Any]] = {}
    for team_id, team in org.teams.items():
        for o in team.owners:
            people[o.id] = {"id": o.id, "name": o.name, "team_id": team_id, "assignable": True}
            people[o.id].update(capacity=o.capacity, active=True)
    for team_id, team in org.teams.items():
        people.setdefault(
            team.lead,
            {
                "id": team.lead,
                "name": team.lead_name or team.lead,
                "team_id": team_id,
                "assignable": False,
                "capacity": None,
                "active": True,
            },
        )
    await upsert(conn, owners, list(people.values()))
    await conn.execute(update(owners).where(owners.c.id.not_in(people)).values(active=False))
    mapping = org.category_map()
    await conn.execute(team_categories.delete().where(team_categories.c.category.not_in(mapping)))
    await upsert(conn, team_categories, [{"category": c, "team_id": t} for c, t in mapping.items()])


async def _sync_departments(conn: AsyncConnection, org: OrganisationConfig) -> None:
    rows = [{"id": d, "name": c.name, "active": True} for d, c in org.departments.items()]
    await upsert(conn, departments, rows)
    await conn.execute(
        update(departments).where(departments.c.id.not_in(org.departments)).values(active=False)
    )
    catalogue = [
        {"department_id": d, "task_type": t, "hours": h}
        for d, c in org.departments.items()
        for t, h in c.tasks.items()
    ]
    # The catalogue is replaced whole: a task type dropped from the file must stop being offered.
    await conn.execute(task_slas.delete())
    if catalogue:
        await conn.execute(task_slas.insert(), catalogue)


async def team_for(conn: AsyncConnection, category: str, product: str | None) -> str:
    """The team for a category, else for the product, else the default team."""
    for key in (category, product):
        team = await conn.scalar(
            select(team_categories.c.team_id).where(
                team_categories.c.category == normalise_key(key)
            )
        )
        if team is not None:
            return str(team)
    default = await conn.scalar(select(teams.c.id).where(teams.c.is_default, teams.c.active))
    if default is None:
        raise LookupError("the organisation has no default team; was the organisation loaded?")
    return str(default)


def _open_load() -> Any:
    return (
        select(cases.c.owner_id, func.count().label("open_cases"))
        .where(cases.c.status.in_([s.value for s in OPEN]))
        .group_by(cases.c.owner_id)
        .subquery()
    )


async def candidates(conn: AsyncConnection, team_id: str) -> tuple[list[Candidate], str]:
    """The team's assignable owners with their open-case load, and the team's lead."""
    load = _open_load()
    rows = await conn.execute(
        select(owners.c.id, owners.c.capacity, func.coalesce(load.c.open_cases, 0))
        .select_from(owners.outerjoin(load, load.c.owner_id == owners.c.id))
        .where(owners.c.team_id == team_id, owners.c.assignable, owners.c.active)
    )
    lead = await conn.scalar(select(teams.c.lead_id).where(teams.c.id == team_id))
    return [Candidate(r[0], int(r[2]), r[1]) for r in rows], str(lead)


async def targets(conn: AsyncConnection) -> tuple[dict[str, float], str]:
    """Resolution hours per priority, and the priority a case runs on until it is prioritised."""
    rows = await conn.execute(select(case_targets.c.priority, case_targets.c.hours))
    default = await conn.scalar(select(sla_policy.c.default_priority))
    return {r[0]: float(r[1]) for r in rows}, str(default or "P3")


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
