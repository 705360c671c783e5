"""Finding complaints: by customer, by any identifier of theirs, by reference, by the customer's
name or by words of the description; newest first, page by page with an opaque cursor."""

import base64
import binascii
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from sqlalchemy import and_, or_, select

from services.intake import domain
from services.intake.models import complaints, customer_identifiers
from services.intake.settings import IntakeRuntimeDep
from shared.auth import Principal, require
from shared.errors import DomainError

router = APIRouter(prefix="/v1", tags=["complaints"])
Searcher = Annotated[Principal, Depends(require("frontend", "supervisor", "admin"))]


class ComplaintSummary(BaseModel):
    id: str
    reference: str
    status: str
    channel: str
    category: str
    product: str | None
    customer_id: str | None
    received_at: datetime


class ComplaintPage(BaseModel):
    items: list[ComplaintSummary]
    next_cursor: str | None


def _invalid(field: str, message: str) -> DomainError:
    fields = [{"loc": ["query", field], "message": message, "type": "value_error"}]
    return DomainError("validation_error", "The request is not valid.", 422, fields=fields)


def _containing(words: str) -> str:
    """A LIKE pattern for the words as typed: `%` and `_` in them match only themselves."""
    escaped = words.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _cursor(row: Any) -> str:
    return base64.urlsafe_b64encode(f"{row.received_at.isoformat()}|{row.id}".encode()).decode()


def _after(cursor: str) -> tuple[datetime, str]:
    try:
        at, complaint_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|", 1)
        return datetime.fromisoformat(at), complaint_id
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise _invalid("cursor", "not a cursor this service gave") from exc


@router.get("/complaints", response_model=ComplaintPage)
async def search_complaints(
    rt: IntakeRuntimeDep,
    _: Searcher,
    customer: Annotated[str | None, Query(max_length=36)] = None,
    email: Annotated[str | None, Query(max_length=320)] = None,
    phone: Annotated[str | None, Query(max_length=32)] = None,
    reference: Annotated[str | None, Query(max_length=32)] = None,
    name: Annotated[str | None, Query(min_length=2, max_length=200)] = None,
    text: Annotated[str | None, Query(min_length=3, max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> ComplaintPage:
    """Complaints of a customer (by id, or by any email or phone they hold), by reference, by a
    part of the customer's name or of the description (any case), newest first. At least one
    filter; filters combine."""
    settings = rt.settings
    name, text = (name or "").strip() or None, (text or "").strip() or None
    if not any((customer, email, phone, reference, name, text)):
        raise _invalid("customer", "give customer, email, phone, reference, name or text")
    conditions: list[Any] = []
    if name:
        conditions.append(complaints.c.customer_name.ilike(_containing(name), escape="\\"))
    if text:
        conditions.append(complaints.c.description.ilike(_containing(text), escape="\\"))
    if customer:
        conditions.append(complaints.c.customer_id == customer)
    if reference:
        conditions.append(complaints.c.reference == reference.strip().upper())
    named: list[tuple[str, str]] = []
    try:
        if email:
            named.append(("email", domain.normalise_email(email).lower()))
    except domain.InvalidContact as exc:
        raise _invalid("email", str(exc)) from exc
    try:
        if phone:
            named.append(("phone", domain.normalise_phone(phone, settings.default_phone_region)))
    except domain.InvalidContact as exc:
        raise _invalid("phone", str(exc)) from exc
    held = customer_identifiers.c
    for kind, value in named:
        owner = select(held.customer_id).where(held.kind == kind, held.value == value)
        conditions.append(complaints.c.customer_id.in_(owner))
    if cursor:
        at, last_id = _after(cursor)
        row = complaints.c
        conditions.append(or_(row.received_at < at, and_(row.received_at == at, row.id < last_id)))
    query = (
        select(complaints)
        .where(*conditions)
        .order_by(complaints.c.received_at.desc(), complaints.c.id.desc())
        .limit(limit + 1)
    )
    async with rt.uow() as uow:
        rows = (await uow.conn.execute(query)).all()
    page = rows[:limit]
    items = [ComplaintSummary.model_validate(r._asdict()) for r in page]
    return ComplaintPage(items=items, next_cursor=_cursor(page[-1]) if len(rows) > limit else None)
