"""Erasure: mask what identifies the customer of erased complaints, keep the anonymous figures.

Analytics keeps of a customer only intake's pseudonym (`customer_key`) and the complaint's
reference (domain.IDENTIFYING); both are dropped from the archived events and set to NULL in
the facts, irreversibly (the archive is what a rebuild reads). Every other column stays, so every
KPI is the same. The complaints are recorded in `erased_complaints`, so that an event of theirs
arriving later (a redelivery, a replay) is masked before it is archived.
"""

import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from services.analytics import bulk_statements
from services.analytics.domain import IDENTIFYING
from services.analytics.models import complaint_facts, erased_complaints, fact_events, streams
from services.analytics.projection.state_cache import CACHE
from shared.events import CustomerErased, CustomerErasureRequested, Envelope, new_event
from shared.uow import UnitOfWork

REQUESTED = "customer.erasure_requested"


async def erased_among(conn: AsyncConnection, complaint_ids: Sequence[str]) -> set[str]:
    if not complaint_ids:
        return set()
    c = erased_complaints.c.complaint_id
    return {r[0] for r in await bulk_statements.select_in(conn, [c], c, list(complaint_ids))}


def mask(attributes: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in attributes.items() if k not in IDENTIFYING}


async def erase(uow: UnitOfWork, envelope: Envelope) -> None:
    """Mask the request's complaints and confirm with `customer.erased.analytics`, in one
    transaction."""
    request = envelope.parsed()
    assert isinstance(request, CustomerErasureRequested)
    conn, ids = uow.conn, sorted(set(request.complaint_ids))
    erased = 0
    if ids:
        now = datetime.now(UTC)
        rows = [
            {"complaint_id": i, "request_id": request.request_id, "erased_at": now} for i in ids
        ]
        await bulk_statements.insert(conn, erased_complaints, rows)
        e = fact_events.c
        for event_id, attributes in await bulk_statements.select_in(
            conn, [e.event_id, e.attributes], e.complaint_id, ids
        ):
            if any(k in attributes for k in IDENTIFYING):
                await conn.execute(
                    fact_events.update()
                    .where(e.event_id == event_id)
                    .values(attributes=mask(attributes))
                )
                erased += 1
        f = complaint_facts.c
        for chunk in bulk_statements.chunks(conn, ids):
            result = await conn.execute(
                complaint_facts.update()
                .where(
                    bulk_statements.among(conn, f.complaint_id, chunk),
                    (f.customer_key.is_not(None)) | (f.reference.is_not(None)),
                )
                .values(customer_key=None, reference=None)
            )
            erased += result.rowcount or 0
        # Cached histories hold the unmasked events: this process forgets them; other processes
        # see a new token on the streams and read the masked ones.
        names = [f"complaint:{i}" for i in ids]
        token = secrets.randbits(62)
        await bulk_statements.stamp(
            conn,
            streams,
            {"stream": names, "updated_at": [now] * len(names), "token": [token] * len(names)},
        )
        for name in names:
            CACHE.drop(name)
    data = CustomerErased(
        request_id=request.request_id,
        customer_id=request.customer_id,
        complaint_ids=request.complaint_ids,
        erased_rows=erased,
    )
    uow.emit(
        new_event(
            "customer.erased.analytics",
            data,
            producer="analytics",
            complaint_id=None,
            cause=envelope,
        )
    )
