"""Case persistence used by every use case: locking, loading, the timeline, idempotency keys."""

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from services.ownership.case import Case
from services.ownership.models import cases, idempotency_keys, tasks, timeline
from shared.errors import NotFound
from shared.idempotency import Keyed, request_fingerprint
from shared.timestamps import as_utc

OPEN_TASK = "open"
DONE_TASK = "completed"


def now() -> datetime:
    return datetime.now(UTC)


def utc_row(row: Any) -> dict[str, Any]:
    return {k: as_utc(v) if isinstance(v, datetime) else v for k, v in row._asdict().items()}


async def lock_case(conn: AsyncConnection, case_id: str) -> bool:
    """Take the case for this transaction; a write first, so SQLite cannot hand us a stale read."""
    result = await conn.execute(
        update(cases).where(cases.c.id == case_id).values(lock_version=cases.c.lock_version + 1)
    )
    return bool(result.rowcount)


async def load_case(conn: AsyncConnection, case_id: str) -> Case | None:
    row = (await conn.execute(select(cases).where(cases.c.id == case_id))).first()
    return Case.of(row) if row else None


async def take_case(conn: AsyncConnection, case_id: str) -> Case:
    """Lock and load a case, or 404."""
    case = await load_case(conn, case_id) if await lock_case(conn, case_id) else None
    if case is None:
        raise NotFound("case_not_found", f"No case {case_id}.")
    return case


async def save_case(conn: AsyncConnection, case_id: str, **values: Any) -> None:
    await conn.execute(
        update(cases).where(cases.c.id == case_id).values(updated_at=now(), **values)
    )


async def append(
    conn: AsyncConnection,
    case_id: str,
    kind: str,
    actor: str,
    detail: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> None:
    await conn.execute(
        timeline.insert().values(
            case_id=case_id, at=at or now(), kind=kind, actor=actor, detail=detail or {}
        )
    )


async def open_task_count(conn: AsyncConnection, case_id: str) -> int:
    count = await conn.scalar(
        select(func.count())
        .select_from(tasks)
        .where(tasks.c.case_id == case_id, tasks.c.status == OPEN_TASK)
    )
    return int(count or 0)


def keyed(scope: str, key: str | None, body: BaseModel) -> Keyed:
    """This request under its Idempotency-Key, in ownership's table (answers kept whole)."""
    return Keyed(idempotency_keys, scope, key, request_fingerprint(body))
