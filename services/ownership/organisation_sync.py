"""The organisation file written into the database at start; running it twice changes nothing."""

from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncConnection

from services.ownership.models import (
    calendars,
    case_targets,
    departments,
    owners,
    sla_policy,
    task_slas,
    team_categories,
    teams,
)
from services.ownership.organisation import OrganisationConfig
from shared.statements import lock_key, upsert


async def sync_organisation(conn: AsyncConnection, org: OrganisationConfig) -> None:
    """Make the database say what the file says; running it twice changes nothing."""
    await lock_key(conn, "organisation")
    await upsert(
        conn,
        calendars,
        [
            {
                "id": c,
                "timezone": cal.timezone,
                "hours": dict(cal.hours),
                "holidays": [d.isoformat() for d in cal.holidays],
            }
            for c, cal in org.calendars.items()
        ],
    )
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
                "calendar_id": policy.calendar,
                "continuity_days": org.continuity_days,
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
            people[o.id].update(capacity=o.capacity, active=True, away=o.away)
            people[o.id].update(skills=o.skills, languages=o.languages, calendar_id=o.calendar)
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
                "skills": [],
                "languages": [],
                "away": False,
                "calendar_id": None,
            },
        )
    await upsert(conn, owners, list(people.values()))
    await conn.execute(update(owners).where(owners.c.id.not_in(people)).values(active=False))
    mapping = org.category_map()
    await conn.execute(team_categories.delete().where(team_categories.c.category.not_in(mapping)))
    await upsert(conn, team_categories, [{"category": c, "team_id": t} for c, t in mapping.items()])


async def _sync_departments(conn: AsyncConnection, org: OrganisationConfig) -> None:
    rows = [
        {"id": d, "name": c.name, "active": True, "calendar_id": c.calendar}
        for d, c in org.departments.items()
    ]
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
