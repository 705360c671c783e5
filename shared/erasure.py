"""What every service does alike when a customer is erased: mask the event bodies it keeps, tell
the coordinator, and drop the dead letters of the complaints.

Masking is irreversible: a fixed marker (or an emptied payload), never a hash of the value,
which a guess of the value could be checked against. What is anonymous stays: ids, types,
times, statuses, counts.
"""

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy import JSON, Table, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.auth import Principal, require
from shared.deadletters import DeadLetterQueue
from shared.events import CustomerErased, CustomerErasureRequested, Envelope, new_event
from shared.logging import get_logger
from shared.service import EventHandler, Runtime, RuntimeDep
from shared.uow import UnitOfWork

log = get_logger(__name__)

ERASED = "[erased]"

# One service's erasure of its own tables: how many rows it changed.
Eraser = Callable[[AsyncConnection, list[str]], Awaitable[int]]


@dataclass(frozen=True)
class Holding:
    """A table holding personal data of complaints: the column naming the complaint and the
    columns to mask."""

    table: Table
    key: str
    columns: tuple[str, ...]
    # Rows kept as they are: (column, values) naming rows that hold nothing personal, such as
    # the regulator's clock entries of a timeline (profile, clock names and times).
    spare: tuple[str, tuple[str, ...]] | None = None


def marker(table: Table, column: str) -> Any:
    return {"erased": True} if isinstance(table.c[column].type, JSON) else ERASED


async def erase_holdings(
    conn: AsyncConnection, holdings: Sequence[Holding], complaint_ids: list[str]
) -> int:
    """Mask every personal column of these complaints' rows; the rows changed."""
    changed = 0
    for holding in holdings:
        table = holding.table
        if not holding.columns:
            continue
        values = {column: marker(table, column) for column in holding.columns}
        rows = update(table).where(table.c[holding.key].in_(complaint_ids))
        if holding.spare is not None:
            column, kept = holding.spare
            rows = rows.where(table.c[column].not_in(kept))
        result = await conn.execute(rows.values(**values))
        changed += result.rowcount or 0
    return changed


async def mask_stored_responses(
    conn: AsyncConnection, table: Table, complaint_ids: Iterable[str]
) -> int:
    """Idempotency keys whose stored response names one of the complaints: the response kept
    as a marker (a repeat of the request is answered with it, not with the customer's data)."""
    wanted = set(complaint_ids)
    rows = await conn.execute(select(table.c.scope, table.c.key, table.c.response))
    masked = 0
    for scope, key, response in rows.all():
        text = json.dumps(response)
        if any(complaint_id in text for complaint_id in wanted):
            await conn.execute(
                update(table)
                .where(table.c.scope == scope, table.c.key == key)
                .values(response={"erased": True})
            )
            masked += 1
    return masked


async def read_holdings(
    conn: AsyncConnection, holdings: Sequence[Holding], complaint_id: str
) -> dict[str, list[dict[str, Any]]]:
    """Every row the holdings keep of one complaint, all columns (a subject access request)."""
    found: dict[str, list[dict[str, Any]]] = {}
    for holding in holdings:
        table = holding.table
        rows = await conn.execute(select(table).where(table.c[holding.key] == complaint_id))
        found[table.name] = [_jsonable(dict(row._mapping)) for row in rows]
    return found


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in row.items()}


DataProtection = Annotated[Principal, Depends(require("data_protection"))]


def personal_data_router(service: str, holdings: Sequence[Holding]) -> APIRouter:
    """`GET /v1/personal-data?complaint_id=`: what this service holds of one complaint."""
    router = APIRouter(prefix="/v1", tags=["data protection"])

    @router.get("/personal-data")
    async def personal_data(
        rt: RuntimeDep, _: DataProtection, complaint_id: str = Query(min_length=1, max_length=36)
    ) -> dict[str, Any]:
        """Everything this service holds of one complaint (subject access)."""
        async with rt.engine.connect() as conn:
            tables = await read_holdings(conn, holdings, complaint_id)
        return {"service": service, "complaint_id": complaint_id, "tables": tables}

    return router


async def mask_outbox(conn: AsyncConnection, outbox: Table, complaint_ids: Iterable[str]) -> int:
    """Empty the payload of the published events of these complaints (the envelope's ids, type
    and times stay). An unpublished one is left to go out as written: the relay owns it."""
    masked = 0
    for complaint_id in complaint_ids:
        pattern = f'%"complaint_id":"{complaint_id}"%'
        rows = await conn.execute(
            select(outbox.c.id, outbox.c.body).where(
                outbox.c.body.like(pattern), outbox.c.published_at.is_not(None)
            )
        )
        for row_id, body in rows.all():
            await conn.execute(
                update(outbox).where(outbox.c.id == row_id).values(body=masked_body(body))
            )
            masked += 1
    return masked


def masked_body(body: str) -> str:
    try:
        envelope: dict[str, Any] = json.loads(body)
    except ValueError:
        return json.dumps({"erased": True})
    envelope["data"] = {"erased": True}
    return json.dumps(envelope)


def erasure_handler(service: str, erase: Eraser) -> EventHandler:
    """The consumer of `customer.erasure_requested`: the service's tables and its outbox masked
    and `customer.erased.<service>` written in one transaction."""

    async def handle(uow: UnitOfWork, envelope: Envelope) -> None:
        request = envelope.parsed()
        assert isinstance(request, CustomerErasureRequested)
        ids = list(request.complaint_ids)
        rows = await erase(uow.conn, ids) + await mask_outbox(uow.conn, uow.outbox_table, ids)
        uow.emit(erased_event(service, request, rows, cause=envelope))
        log.info("customer_erased", request_id=request.request_id, rows=rows)

    return handle


def erased_event(
    service: str, request: CustomerErasureRequested, rows: int, cause: Envelope | None = None
) -> Envelope:
    data = CustomerErased(
        request_id=request.request_id,
        customer_id=request.customer_id,
        complaint_ids=request.complaint_ids,
        erased_rows=rows,
    )
    return new_event(
        f"customer.erased.{service}", data, producer=service, complaint_id=None, cause=cause
    )


async def purge_dead_letters(runtime: Runtime, complaint_ids: list[str]) -> None:
    """Best effort: a dead letter of an erased complaint is dropped from the service's queue.
    A failure is logged, not retried — the erasure itself is committed and the operator's
    `deadletters drop` remains."""
    try:
        purged = await DeadLetterQueue(runtime.settings).purge(set(complaint_ids))
    except Exception as exc:  # the queue may not exist, or the broker be away
        log.warning("dead_letters_not_purged", error=repr(exc))
        return
    if purged:
        log.info("dead_letters_purged", count=purged)


def with_dead_letter_purge(runtime: Runtime, handler: EventHandler) -> EventHandler:
    async def handle(uow: UnitOfWork, envelope: Envelope) -> None:
        await handler(uow, envelope)
        request = envelope.parsed()
        assert isinstance(request, CustomerErasureRequested)
        task = asyncio.get_running_loop().create_task(
            purge_dead_letters(runtime, request.complaint_ids)
        )
        _pending.add(task)
        task.add_done_callback(_pending.discard)

    return handle


_pending: set[asyncio.Task[None]] = set()
