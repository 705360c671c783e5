"""Data protection: erasure requests, legal holds, the subject access export."""

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import delete, select

from services.intake import customers as customer_records
from services.intake import erasure, export
from services.intake.models import customers, erasure_confirmations, erasure_requests, legal_holds
from services.intake.settings import IntakeRuntime, IntakeRuntimeDep
from shared import accesslog as access
from shared.auth import Principal, require
from shared.errors import Conflict, NotFound

router = APIRouter(prefix="/v1", tags=["data protection"])

DataProtection = Annotated[Principal, Depends(require("data_protection"))]


class HoldBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=2000)


class Confirmation(BaseModel):
    service: str
    erased_rows: int
    confirmed_at: datetime


class ErasureRequestPublic(BaseModel):
    id: str
    customer_id: str
    reason: str
    status: str = Field(description="`waiting`, `sent` or `completed`.")
    waiting_reason: str | None = Field(description="`legal_hold` or `complaints_open`.")
    complaint_ids: list[str]
    requested_by: str
    requested_at: datetime
    sent_at: datetime | None
    completed_at: datetime | None
    confirmed: list[Confirmation]
    awaiting: list[str] = Field(description="Services that have not confirmed yet.")


async def _existing_customer(rt: IntakeRuntime, customer_id: str) -> None:
    async with rt.engine.connect() as conn:
        row = (
            await conn.execute(select(customers.c.merged_into).where(customers.c.id == customer_id))
        ).first()
    if row is None:
        raise NotFound("customer_not_found", f"No customer {customer_id}.")
    if row.merged_into is not None:
        raise Conflict(
            "customer_merged", f"Customer {customer_id} was merged into {row.merged_into}."
        )


async def _view(rt: IntakeRuntime, request_id: str) -> ErasureRequestPublic:
    settings = rt.settings
    async with rt.engine.connect() as conn:
        row = (
            await conn.execute(select(erasure_requests).where(erasure_requests.c.id == request_id))
        ).first()
        if row is None:
            raise NotFound("erasure_request_not_found", f"No erasure request {request_id}.")
        done = await conn.execute(
            select(erasure_confirmations)
            .where(erasure_confirmations.c.request_id == request_id)
            .order_by(erasure_confirmations.c.confirmed_at)
        )
        confirmed = [
            Confirmation(service=c.service, erased_rows=c.erased_rows, confirmed_at=c.confirmed_at)
            for c in done
        ]
    seen = {c.service for c in confirmed}
    return ErasureRequestPublic(
        id=row.id,
        customer_id=row.customer_id,
        reason=row.reason,
        status=row.status,
        waiting_reason=row.waiting_reason,
        complaint_ids=list(row.complaint_ids),
        requested_by=row.requested_by,
        requested_at=row.requested_at,
        sent_at=row.sent_at,
        completed_at=row.completed_at,
        confirmed=confirmed,
        awaiting=[s for s in settings.erasure_services if s not in seen],
    )


@router.post(
    "/customers/{customer_id}/erasure", status_code=202, response_model=ErasureRequestPublic
)
async def request_erasure(
    customer_id: str, rt: IntakeRuntimeDep, who: DataProtection
) -> ErasureRequestPublic:
    """Erase the customer's personal data in every service. It waits while a complaint is open
    or a legal hold is set; asking again returns the same request."""
    await _existing_customer(rt, customer_id)
    async with rt.uow() as uow:
        request_id = await erasure.request_erasure(uow, customer_id, "request", who.subject)
        await uow.commit()
    return await _view(rt, request_id)


@router.get("/erasure-requests/{request_id}", response_model=ErasureRequestPublic)
async def read_erasure_request(
    request_id: str, rt: IntakeRuntimeDep, _: DataProtection
) -> ErasureRequestPublic:
    """The request's status and which services have confirmed."""
    return await _view(rt, request_id)


@router.put("/customers/{customer_id}/legal-hold")
async def set_legal_hold(
    customer_id: str, body: HoldBody, rt: IntakeRuntimeDep, who: DataProtection
) -> dict[str, Any]:
    """Hold the customer's data: no erasure (requested or by retention) goes ahead meanwhile."""
    await _existing_customer(rt, customer_id)
    now = datetime.now(UTC)
    async with rt.uow() as uow:
        await customer_records.serialise(uow.conn, [f"customer:{customer_id}"])
        await uow.conn.execute(delete(legal_holds).where(legal_holds.c.customer_id == customer_id))
        await uow.conn.execute(
            legal_holds.insert().values(
                customer_id=customer_id, reason=body.reason, set_by=who.subject, set_at=now
            )
        )
        await uow.commit()
    return {"customer_id": customer_id, "reason": body.reason, "set_by": who.subject, "set_at": now}


@router.delete("/customers/{customer_id}/legal-hold", status_code=204)
async def lift_legal_hold(customer_id: str, rt: IntakeRuntimeDep, _: DataProtection) -> None:
    """Lift the hold; a waiting erasure goes ahead if nothing else holds it back."""
    await _existing_customer(rt, customer_id)
    async with rt.uow() as uow:
        await customer_records.serialise(uow.conn, [f"customer:{customer_id}"])
        await uow.conn.execute(delete(legal_holds).where(legal_holds.c.customer_id == customer_id))
        await erasure.proceed_for_customer(uow, customer_id)
        await uow.commit()


@router.get(
    "/customers/{customer_id}/export",
    responses={200: {"content": {"text/html": {}}}},
)
async def export_customer(
    customer_id: str,
    request: Request,
    rt: IntakeRuntimeDep,
    who: DataProtection,
    authorization: Annotated[str, Header()],
    format: Annotated[str | None, Query(pattern="^(json|html)$")] = None,
) -> Any:
    """Everything held about the customer in every service, as one JSON document (or HTML with
    `Accept: text/html` or `?format=html`)."""
    settings = rt.settings
    async with rt.engine.connect() as conn:
        own = await export.own_data(conn, customer_id)
    gathered = await export.gather(settings, own, authorization)
    doc = export.document(own, gathered, f"{who.role}:{who.subject}")
    await access.record(rt, who, customer_id, "GET /v1/customers/{id}/export")
    wants_html = format == "html" or (
        format is None and "text/html" in request.headers.get("accept", "")
    )
    if wants_html:
        return HTMLResponse(export.html(doc))
    return JSONResponse(doc)
