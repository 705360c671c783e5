"""Use cases of the organisation's administration: every change is written with its audit row.

Changes apply to what happens next (new cases, new tasks, new assignments); SLA timers already
planned keep their times. Marking an owner away hands their open cases over at once.
"""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from services.ownership import organisation_store
from services.ownership.admin_schemas import (
    AvailabilityPut,
    CalendarPut,
    Changed,
    DepartmentPut,
    OwnerChanged,
    OwnerPut,
    PolicyPut,
    TeamPut,
    jsonable,
)
from services.ownership.domain import PRIORITIES, actor, normalise_key
from services.ownership.handover_commands import hand_over_all
from services.ownership.models import (
    calendars,
    case_targets,
    departments,
    org_audit,
    owners,
    sla_policy,
    task_slas,
    team_categories,
    teams,
)
from shared.auth import Principal
from shared.errors import Conflict, DomainError, NotFound
from shared.service import Runtime
from shared.statements import lock_key, upsert


def invalid(code: str, message: str) -> DomainError:
    return DomainError(code, message, 422)


async def _row(conn: AsyncConnection, table: Table, key: str) -> dict[str, Any] | None:
    column = next(iter(table.primary_key.columns))
    row = (await conn.execute(select(table).where(column == key))).first()
    return jsonable(row._asdict()) if row else None


async def _audit(
    conn: AsyncConnection,
    who: Principal,
    entity: str,
    entity_id: str,
    before: dict[str, Any] | None,
    after: dict[str, Any],
) -> None:
    await conn.execute(
        org_audit.insert().values(
            at=datetime.now(UTC),
            actor=actor(who.role, who.subject),
            entity=entity,
            entity_id=entity_id,
            before=before,
            after=jsonable(after),
        )
    )


async def _need(conn: AsyncConnection, table: Table, key: str | None, what: str) -> None:
    if key is not None and await _row(conn, table, key) is None:
        raise invalid(f"unknown_{what}", f"No {what} {key!r}.")


async def put_owner(rt: Runtime, owner_id: str, body: OwnerPut, who: Principal) -> OwnerChanged:
    """Create or change an owner; going away hands their open cases over."""
    async with rt.uow() as uow:
        conn = uow.conn
        await lock_key(conn, "organisation")
        await _need(conn, teams, body.team, "team")
        await _need(conn, calendars, body.calendar, "calendar")
        before = await _row(conn, owners, owner_id)
        row = {"id": owner_id, **body.model_dump(exclude={"team", "calendar"})}
        row.update(team_id=body.team, calendar_id=body.calendar)
        row["assignable"] = True
        await upsert(conn, owners, [row])
        await _audit(conn, who, "owner", owner_id, before, row)
        moved = []
        if body.away or not body.active:
            reason = "owner away" if body.away else "owner deactivated"
            moved = await hand_over_all(uow, owner_id, reason, actor(who.role, who.subject))
        await uow.commit()
    return OwnerChanged(id=owner_id, after=jsonable(row), handed_over=moved)


async def set_availability(
    rt: Runtime, owner_id: str, body: AvailabilityPut, who: Principal
) -> OwnerChanged:
    """Mark an owner away (their open cases are handed over) or available again."""
    async with rt.uow() as uow:
        conn = uow.conn
        await lock_key(conn, "organisation")
        before = await _row(conn, owners, owner_id)
        if before is None or not before["active"]:
            raise NotFound("owner_not_found", f"No active owner {owner_id}.")
        await conn.execute(update(owners).where(owners.c.id == owner_id).values(away=body.away))
        after = {**before, "away": body.away}
        await _audit(conn, who, "owner", owner_id, before, {**after, "reason": body.reason})
        moved = []
        if body.away:
            reason = f"owner away: {body.reason}"
            moved = await hand_over_all(uow, owner_id, reason, actor(who.role, who.subject))
        await uow.commit()
    return OwnerChanged(id=owner_id, after=after, handed_over=moved)


async def put_team(rt: Runtime, team_id: str, body: TeamPut, who: Principal) -> Changed:
    async with rt.uow() as uow:
        conn = uow.conn
        await lock_key(conn, "organisation")
        before = await _row(conn, teams, team_id)
        if before is not None:
            keys = await conn.scalars(
                select(team_categories.c.category).where(team_categories.c.team_id == team_id)
            )
            before["categories"] = sorted(keys)
        mapping = {normalise_key(c): c for c in body.categories if c.strip()}
        taken = await conn.execute(
            select(team_categories).where(
                team_categories.c.category.in_(mapping), team_categories.c.team_id != team_id
            )
        )
        if clash := [dict(r._asdict()) for r in taken]:
            raise Conflict("category_taken", "A category belongs to another team.", taken=clash)
        row = {"id": team_id, "name": body.name, "lead_id": body.lead, "active": body.active}
        row["is_default"] = bool(before and before["is_default"])
        await upsert(conn, teams, [row])
        if await _row(conn, owners, body.lead) is None:
            lead = {"id": body.lead, "name": body.lead, "team_id": team_id, "assignable": False}
            lead.update(capacity=None, active=True, skills=[], languages=[], away=False)
            lead["calendar_id"] = None
            await conn.execute(owners.insert().values(**lead))
        await conn.execute(delete(team_categories).where(team_categories.c.team_id == team_id))
        rows = [{"category": c, "team_id": team_id} for c in mapping]
        if rows:
            await conn.execute(team_categories.insert(), rows)
        after = {**row, "categories": sorted(mapping)}
        await _audit(conn, who, "team", team_id, before, after)
        await uow.commit()
    return Changed(entity="team", id=team_id, after=after)


async def put_department(
    rt: Runtime, department_id: str, body: DepartmentPut, who: Principal
) -> Changed:
    async with rt.uow() as uow:
        conn = uow.conn
        await lock_key(conn, "organisation")
        await _need(conn, calendars, body.calendar, "calendar")
        before = await _row(conn, departments, department_id)
        if before is not None:
            before["tasks"] = (await organisation_store.catalogue_of(conn, department_id)) or {}
        row = {"id": department_id, "name": body.name, "active": body.active}
        row["calendar_id"] = body.calendar
        await upsert(conn, departments, [row])
        await conn.execute(delete(task_slas).where(task_slas.c.department_id == department_id))
        entries = [
            {"department_id": department_id, "task_type": t, "hours": h}
            for t, h in body.tasks.items()
        ]
        await conn.execute(task_slas.insert(), entries)
        after = {**row, "tasks": dict(body.tasks)}
        await _audit(conn, who, "department", department_id, before, after)
        await uow.commit()
    return Changed(entity="department", id=department_id, after=after)


async def put_calendar(rt: Runtime, calendar_id: str, body: CalendarPut, who: Principal) -> Changed:
    async with rt.uow() as uow:
        await lock_key(uow.conn, "organisation")
        before = await _row(uow.conn, calendars, calendar_id)
        row = {"id": calendar_id, **jsonable(body.model_dump())}
        await upsert(uow.conn, calendars, [row])
        await _audit(uow.conn, who, "calendar", calendar_id, before, row)
        await uow.commit()
    return Changed(entity="calendar", id=calendar_id, after=row)


async def put_policy(rt: Runtime, body: PolicyPut, who: Principal) -> Changed:
    missing = [p for p in PRIORITIES if p not in body.hours]
    if missing:
        raise invalid("missing_priority", f"hours lacks {', '.join(missing)}.")
    async with rt.uow() as uow:
        conn = uow.conn
        await lock_key(conn, "organisation")
        await _need(conn, calendars, body.calendar, "calendar")
        before = await _row(conn, sla_policy, "default")
        if before is not None:
            before["hours"] = (await organisation_store.targets(conn))[0]
        await upsert(
            conn, case_targets, [{"priority": p, "hours": h} for p, h in body.hours.items()]
        )
        row = {"id": "default", **body.model_dump(exclude={"hours", "calendar"})}
        row["calendar_id"] = body.calendar
        await upsert(conn, sla_policy, [row])
        after = {**row, "hours": dict(body.hours)}
        await _audit(conn, who, "sla_policy", "default", before, after)
        await uow.commit()
    return Changed(entity="sla_policy", id="default", after=after)
