"""The customer's open matter, and follow-up contacts appended to it.

A new complaint joins the customer's open complaint on the same matter (same category and
product, case and spacing aside) whose last contact is within the join window, instead of
opening a second case; "open" is every status ownership announces but `closed` and `merged`
(a merged complaint is worked in the one it was merged into).
"""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, select, update

from services.intake.models import complaints, contacts
from shared.events import Channel, ComplaintContactAdded, new_event
from shared.uow import UnitOfWork

PRODUCER = "intake"


def _same(column: Any, value: str | None) -> ColumnElement[bool]:
    if value is None or not value.strip():
        return column.is_(None) | (func.trim(column) == "")
    return func.lower(func.trim(column)) == value.strip().lower()


async def open_matter(
    uow: UnitOfWork,
    customer_id: str,
    category: str,
    product: str | None,
    window_days: float,
) -> str | None:
    """The id of the customer's open complaint on this matter, the most recently active."""
    since = datetime.now(UTC) - timedelta(days=window_days)
    query = (
        select(complaints.c.id)
        .where(
            complaints.c.customer_id == customer_id,
            _same(complaints.c.category, category),
            _same(complaints.c.product, product),
            complaints.c.status.not_in(("closed", "merged")),
            complaints.c.last_contact_at >= since,
        )
        .order_by(complaints.c.last_contact_at.desc())
        .limit(1)
    )
    found = await uow.conn.scalar(query)
    return None if found is None else str(found)


async def latest_open(uow: UnitOfWork, customer_id: str, window_days: float) -> str | None:
    """The customer's most recently active open complaint, whatever its matter: where a message
    to the complaints address goes when it names none (it has no category to match on)."""
    since = datetime.now(UTC) - timedelta(days=window_days)
    query = (
        select(complaints.c.id)
        .where(
            complaints.c.customer_id == customer_id,
            complaints.c.status.not_in(("closed", "merged")),
            complaints.c.last_contact_at >= since,
        )
        .order_by(complaints.c.last_contact_at.desc())
        .limit(1)
    )
    found = await uow.conn.scalar(query)
    return None if found is None else str(found)


async def append_contact(
    uow: UnitOfWork,
    complaint_id: str,
    channel: Channel,
    contact: str,
    text: str,
    submission_id: str | None = None,
) -> dict[str, Any]:
    """Store a follow-up contact and emit `complaint.contact_added`, in the caller's unit;
    `submission_id`: the id the message came under when it was sent by email or SMS."""
    contact_id, received_at = str(uuid.uuid4()), datetime.now(UTC)
    row = {
        "id": contact_id,
        "complaint_id": complaint_id,
        "channel": channel,
        "contact": contact,
        "text": text,
        "received_at": received_at,
        "submission_id": submission_id,
    }
    await uow.conn.execute(contacts.insert().values(**row))
    await uow.conn.execute(
        update(complaints)
        .where(complaints.c.id == complaint_id)
        .values(last_contact_at=received_at)
    )
    data = ComplaintContactAdded(
        contact_id=contact_id, channel=channel, contact=contact, text=text, received_at=received_at
    )
    uow.emit(
        new_event("complaint.contact_added", data, producer=PRODUCER, complaint_id=complaint_id)
    )
    return row
