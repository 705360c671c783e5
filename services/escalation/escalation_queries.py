"""The escalations sent, newest first, filtered and paged by an opaque cursor."""

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.escalation.models import escalations, notifications
from services.escalation.schemas import EscalationList, EscalationPublic, NotificationPublic
from shared.errors import DomainError
from shared.service import Runtime
from shared.timestamps import as_utc


@dataclass(frozen=True)
class EscalationFilter:
    case_id: str | None = None
    recipient: str | None = None
    subject: str | None = None
    step: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def encode_cursor(created_at: datetime, escalation_id: str) -> str:
    raw = json.dumps([as_utc(created_at).isoformat(), escalation_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, escalation_id = json.loads(raw)
        if not isinstance(at, str) or not isinstance(escalation_id, str):
            raise ValueError(cursor)
        return as_utc(datetime.fromisoformat(at)), escalation_id
    except (ValueError, TypeError) as exc:
        raise DomainError("invalid_cursor", "The cursor is not one this API gave.", 422) from exc


def _conditions(where: EscalationFilter) -> list[Any]:
    c = escalations.c
    found = []
    for column, value in (
        (c.case_id, where.case_id),
        (c.recipient, where.recipient),
        (c.subject, where.subject),
        (c.step, where.step),
    ):
        if value is not None:
            found.append(column == value)
    if where.since is not None:
        found.append(c.created_at >= where.since)
    if where.until is not None:
        found.append(c.created_at < where.until)
    return found


async def escalation_page(
    conn: AsyncConnection, where: EscalationFilter, limit: int, cursor: str | None
) -> EscalationList:
    c = escalations.c
    query = select(escalations).where(*_conditions(where))
    if cursor is not None:
        at, last_id = decode_cursor(cursor)
        query = query.where(or_(c.created_at < at, and_(c.created_at == at, c.id < last_id)))
    query = query.order_by(c.created_at.desc(), c.id.desc()).limit(limit + 1)
    rows = list(await conn.execute(query))
    items = [EscalationPublic.model_validate(r, from_attributes=True) for r in rows[:limit]]
    sent = await _notifications(conn, [item.id for item in items])
    items = [item.model_copy(update={"notifications": sent.get(item.id, [])}) for item in items]
    more = len(rows) > limit
    next_cursor = encode_cursor(items[-1].created_at, items[-1].id) if more else None
    return EscalationList(items=items, next_cursor=next_cursor)


async def _notifications(
    conn: AsyncConnection, escalation_ids: list[str]
) -> dict[str, list[NotificationPublic]]:
    if not escalation_ids:
        return {}
    n = notifications.c
    rows = await conn.execute(
        select(notifications)
        .where(n.escalation_id.in_(escalation_ids))
        .order_by(n.channel, n.created_at)
    )
    found: dict[str, list[NotificationPublic]] = {}
    for row in rows:
        public = NotificationPublic.model_validate(row, from_attributes=True)
        found.setdefault(row.escalation_id, []).append(public)
    return found


async def list_escalations(
    rt: Runtime, where: EscalationFilter, limit: int, cursor: str | None
) -> EscalationList:
    async with rt.uow() as uow:
        return await escalation_page(uow.conn, where, limit, cursor)
