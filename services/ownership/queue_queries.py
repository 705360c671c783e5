"""The work queue, page by page: soonest due first, with an opaque cursor to the next page.

Each case carries the time its SLA warning fires (`warning_at`, from the case's current timer
plan), so a reader can tell on time, warned and breached apart without knowing the calendars.
"""

import base64
import json
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.ownership.domain import OPEN
from services.ownership.models import cases, owners, tasks, timers
from services.ownership.repository import OPEN_TASK, utc_row
from services.ownership.schemas import CasePublic
from shared.errors import DomainError
from shared.timestamps import as_utc


class InvalidCursor(DomainError):
    status_code = 422


def encode_cursor(due_at: datetime | None, case_id: str) -> str:
    raw = json.dumps([due_at.isoformat() if due_at else None, case_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime | None, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        due, case_id = json.loads(raw)
        if not isinstance(case_id, str) or not isinstance(due, str | None):
            raise ValueError(cursor)
        return (as_utc(datetime.fromisoformat(due)) if due else None), case_id
    except (ValueError, TypeError) as exc:
        raise InvalidCursor("invalid_cursor", "The cursor is not one this API gave.") from exc


def _after(cursor: tuple[datetime | None, str]) -> Any:
    """Cases after the cursor in the order (due_at nulls last, id)."""
    due, case_id = cursor
    if due is None:
        return and_(cases.c.due_at.is_(None), cases.c.id > case_id)
    return or_(
        cases.c.due_at > due,
        and_(cases.c.due_at == due, cases.c.id > case_id),
        cases.c.due_at.is_(None),
    )


async def team_of(conn: AsyncConnection, owner_id: str) -> str | None:
    row = (await conn.execute(select(owners.c.team_id).where(owners.c.id == owner_id))).first()
    return row[0] if row is not None else None


async def case_page(
    conn: AsyncConnection,
    *,
    owner_id: str | None,
    status: str | None,
    team: str | None,
    open_only: bool,
    limit: int,
    cursor: str | None,
) -> tuple[list[CasePublic], str | None]:
    from services.ownership.queries import case_public

    query = select(cases)
    if owner_id is not None:
        query = query.where(cases.c.owner_id == owner_id)
    if status is not None:
        query = query.where(cases.c.status == status)
    if team is not None:
        query = query.where(cases.c.team_id == team)
    if open_only:
        query = query.where(cases.c.status.in_([s.value for s in OPEN]))
    if cursor is not None:
        query = query.where(_after(decode_cursor(cursor)))
    query = query.order_by(cases.c.due_at.is_(None), cases.c.due_at, cases.c.id).limit(limit + 1)
    rows = [utc_row(r) for r in await conn.execute(query)]
    more = len(rows) > limit
    rows = rows[:limit]
    ids = [r["id"] for r in rows]
    counts = await _open_task_counts(conn, ids)
    warnings = await _warning_times(conn, rows)
    items = [
        case_public(r, counts.get(r["id"], 0)).model_copy(
            update={"warning_at": warnings.get(r["id"])}
        )
        for r in rows
    ]
    last = rows[-1] if rows else None
    next_cursor = encode_cursor(last["due_at"], last["id"]) if more and last else None
    return items, next_cursor


async def _open_task_counts(conn: AsyncConnection, case_ids: list[str]) -> dict[str, int]:
    if not case_ids:
        return {}
    rows = await conn.execute(
        select(tasks.c.case_id, func.count())
        .where(tasks.c.case_id.in_(case_ids), tasks.c.status == OPEN_TASK)
        .group_by(tasks.c.case_id)
    )
    return {r[0]: int(r[1]) for r in rows}


async def _warning_times(conn: AsyncConnection, rows: list[dict[str, Any]]) -> dict[str, datetime]:
    """The warning time of each case's current plan: the timer planned for its due time."""
    due = {r["id"]: r["due_at"] for r in rows if r["due_at"] is not None}
    if not due:
        return {}
    found: dict[str, datetime] = {}
    timer_rows = await conn.execute(
        select(timers.c.subject_id, timers.c.due_at, timers.c.sla_due_at)
        .where(
            timers.c.subject == "case",
            timers.c.kind == "warning",
            timers.c.subject_id.in_(list(due)),
        )
        .order_by(timers.c.id)
    )
    for case_id, warning_at, sla_due_at in timer_rows:
        if as_utc(sla_due_at) == due[case_id]:
            found[case_id] = as_utc(warning_at)
    return found
