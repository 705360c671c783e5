"""A customer's erasure, coordinated by intake, which knows the customer and their complaints.

A request waits while any of the customer's complaints is still open (their confirmation may
still need the address) or a legal hold is set; once neither holds it back, intake erases its own
rows and sends `customer.erasure_requested` in one transaction, and every service answers with
`customer.erased.<service>`. Asking again returns the same request.
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import case, delete, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from services.intake import customers as customer_records
from services.intake.models import (
    complaints,
    contacts,
    customer_identifiers,
    customers,
    erasure_confirmations,
    erasure_requests,
    legal_holds,
)
from shared.erasure import Holding, erase_holdings, erased_event, mask_outbox
from shared.events import CustomerErased, CustomerErasureRequested, Envelope, new_event
from shared.logging import get_logger
from shared.uow import UnitOfWork

log = get_logger(__name__)

PRODUCER = "intake"
CLOSED = "closed"

HOLDINGS = (
    Holding(
        complaints,
        "id",
        (
            "customer_name",
            "customer_email",
            "customer_phone",
            "customer_external_id",
            "contact",
            "description",
            "facts",
            "external_ref",
        ),
    ),
    Holding(contacts, "complaint_id", ("contact", "text")),
)


@dataclass(frozen=True)
class Waiting:
    reason: str | None  # None: nothing holds the erasure back
    open_complaints: list[str]


def waiting(open_complaints: list[str], held: bool) -> Waiting:
    """Why an erasure cannot go ahead yet: a legal hold first, then open complaints."""
    if held:
        return Waiting("legal_hold", open_complaints)
    if open_complaints:
        return Waiting("complaints_open", open_complaints)
    return Waiting(None, [])


async def _complaints_of(conn: AsyncConnection, customer_id: str) -> list[tuple[str, str]]:
    rows = await conn.execute(
        select(complaints.c.id, complaints.c.status)
        .where(complaints.c.customer_id == customer_id)
        .order_by(complaints.c.received_at, complaints.c.id)
    )
    return [(r.id, r.status) for r in rows]


async def _submissions_of(
    conn: AsyncConnection, customer_id: str, complaint_ids: list[str]
) -> list[str]:
    """The ids the customer's emailed or texted follow-ups came in under: the other services
    keep those messages (the mail, the event) under them, not under the complaint joined."""
    rows = await conn.scalars(
        select(contacts.c.submission_id)
        .join(complaints, complaints.c.id == contacts.c.complaint_id)
        .where(complaints.c.customer_id == customer_id, contacts.c.submission_id.is_not(None))
        .order_by(contacts.c.received_at)
    )
    return [s for s in dict.fromkeys(rows) if s not in complaint_ids]


async def _held(conn: AsyncConnection, customer_id: str) -> bool:
    found = await conn.scalar(
        select(legal_holds.c.customer_id).where(legal_holds.c.customer_id == customer_id)
    )
    return found is not None


async def _pending(conn: AsyncConnection, customer_id: str) -> Any:
    """The customer's request not yet sent, or the latest one."""
    rows = await conn.execute(
        select(erasure_requests)
        .where(erasure_requests.c.customer_id == customer_id)
        .order_by(erasure_requests.c.requested_at.desc())
    )
    return rows.first()


async def request_erasure(uow: UnitOfWork, customer_id: str, reason: str, by: str) -> str:
    """The customer's erasure request (an existing one, unless it was sent and new complaints
    came since); goes ahead at once if nothing holds it back."""
    conn = uow.conn
    await customer_records.serialise(conn, [f"customer:{customer_id}"])
    existing = await _pending(conn, customer_id)
    complaint_ids = [cid for cid, _ in await _complaints_of(conn, customer_id)]
    if existing is not None and (
        existing.status == "waiting" or set(complaint_ids) <= set(existing.complaint_ids)
    ):
        return str(existing.id)
    request_id = str(uuid.uuid4())
    await conn.execute(
        erasure_requests.insert().values(
            id=request_id,
            customer_id=customer_id,
            reason=reason,
            status="waiting",
            complaint_ids=complaint_ids,
            requested_by=by,
            requested_at=datetime.now(UTC),
        )
    )
    await proceed_if_free(uow, request_id)
    return request_id


async def proceed_if_free(uow: UnitOfWork, request_id: str) -> bool:
    """Send a waiting request if nothing holds it back any more (else record why it waits)."""
    conn = uow.conn
    row = (
        await conn.execute(select(erasure_requests).where(erasure_requests.c.id == request_id))
    ).first()
    if row is None or row.status != "waiting":
        return False
    found = await _complaints_of(conn, row.customer_id)
    state = waiting(
        [cid for cid, status in found if status != CLOSED], await _held(conn, row.customer_id)
    )
    # Both writes are conditional on the request still waiting: a background pass that read it
    # before a hold was lifted must not put the old reason back on a sent request, and of two
    # that find it free only the one whose claim changes the row sends it.
    still_waiting = (erasure_requests.c.id == request_id) & (erasure_requests.c.status == "waiting")
    if state.reason is not None:
        await conn.execute(
            update(erasure_requests).where(still_waiting).values(waiting_reason=state.reason)
        )
        return False
    complaint_ids = [cid for cid, _ in found]
    complaint_ids += await _submissions_of(conn, row.customer_id, complaint_ids)
    claimed = await conn.execute(
        update(erasure_requests)
        .where(still_waiting)
        .values(
            status="sent",
            waiting_reason=None,
            complaint_ids=complaint_ids,
            sent_at=datetime.now(UTC),
        )
    )
    if claimed.rowcount != 1:
        return False
    request = CustomerErasureRequested(
        request_id=request_id,
        customer_id=row.customer_id,
        complaint_ids=complaint_ids,
        reason=row.reason,
    )
    rows = await erase_own(conn, row.customer_id, complaint_ids, uow)
    uow.emit(
        new_event("customer.erasure_requested", request, producer=PRODUCER, complaint_id=None),
        erased_event(PRODUCER, request, rows),
    )
    log.info("erasure_sent", request_id=request_id, complaints=len(complaint_ids))
    return True


async def erase_own(
    conn: AsyncConnection, customer_id: str, complaint_ids: list[str], uow: UnitOfWork
) -> int:
    """Intake's own personal data: the complaints' words and addresses, the customer's name,
    every identifier (they are the addresses themselves), the events' payloads."""
    rows = await erase_holdings(conn, HOLDINGS, complaint_ids)
    named = await conn.execute(
        update(customers).where(customers.c.id == customer_id).values(name="[erased]")
    )
    gone = await conn.execute(
        delete(customer_identifiers).where(customer_identifiers.c.customer_id == customer_id)
    )
    rows += (named.rowcount or 0) + (gone.rowcount or 0)
    return rows + await mask_outbox(conn, uow.outbox_table, complaint_ids)


async def proceed_for_customer(uow: UnitOfWork, customer_id: str | None) -> None:
    """After a complaint closed or a hold was lifted: the customer's waiting request, if any."""
    if customer_id is None:
        return
    await customer_records.serialise(uow.conn, [f"customer:{customer_id}"])
    ids = await uow.conn.scalars(
        select(erasure_requests.c.id).where(
            erasure_requests.c.customer_id == customer_id, erasure_requests.c.status == "waiting"
        )
    )
    for request_id in list(ids):
        await proceed_if_free(uow, request_id)


async def confirmed(uow: UnitOfWork, envelope: Envelope, expected: list[str]) -> None:
    """A service has erased: recorded once; the request is completed when all have."""
    data = envelope.parsed()
    assert isinstance(data, CustomerErased)
    service = envelope.type.removeprefix("customer.erased.")
    conn = uow.conn
    # The request's row is locked first: confirmations arriving together are counted one after
    # the other, or each would see the others missing and none would complete the request.
    known = await conn.scalar(
        select(erasure_requests.c.id)
        .where(erasure_requests.c.id == data.request_id)
        .with_for_update()
    )
    exists = await conn.scalar(
        select(func.count())
        .select_from(erasure_confirmations)
        .where(
            erasure_confirmations.c.request_id == data.request_id,
            erasure_confirmations.c.service == service,
        )
    )
    if exists or known is None:
        return
    await conn.execute(
        erasure_confirmations.insert().values(
            request_id=data.request_id,
            service=service,
            erased_rows=data.erased_rows,
            confirmed_at=envelope.occurred_at,
        )
    )
    await complete_if_all(uow, data.request_id, expected)


async def complete_if_all(uow: UnitOfWork, request_id: str, expected: list[str]) -> None:
    done = set(
        await uow.conn.scalars(
            select(erasure_confirmations.c.service).where(
                erasure_confirmations.c.request_id == request_id
            )
        )
    )
    if set(expected) <= done:
        await uow.conn.execute(
            update(erasure_requests)
            .where(erasure_requests.c.id == request_id, erasure_requests.c.status == "sent")
            .values(status="completed", completed_at=datetime.now(UTC))
        )


async def due_for_retention(conn: AsyncConnection, now: datetime, days: float) -> list[str]:
    """Customers whose complaints are all closed, the last longer ago than the retention period,
    and who have no erasure request yet."""
    c = complaints.c
    requested = exists().where(erasure_requests.c.customer_id == c.customer_id)
    rows = await conn.execute(
        select(c.customer_id)
        .where(c.customer_id.is_not(None), ~requested)
        .group_by(c.customer_id)
        .having(func.sum(case((c.status != CLOSED, 1), else_=0)) == 0)
        .having(func.max(c.status_at) < now - timedelta(days=days))
        .limit(100)
    )
    return [r.customer_id for r in rows]


async def waiting_requests(conn: AsyncConnection, limit: int = 100) -> list[str]:
    """Waiting requests, each claimed by one replica's pass (SKIP LOCKED on PostgreSQL)."""
    rows = await conn.execute(
        select(erasure_requests.c.id)
        .where(erasure_requests.c.status == "waiting")
        .order_by(erasure_requests.c.requested_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(rows.scalars())
