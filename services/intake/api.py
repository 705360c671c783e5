"""Intake HTTP routes: they only translate to handlers."""

from typing import Annotated

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, ConfigDict, Field

from services.intake import commands, split_commands
from services.intake.schemas import ComplaintCreate, ComplaintPublic, ContactCreate, ContactPublic
from services.intake.settings import IntakeRuntimeDep
from shared import accesslog as access
from shared.auth import Principal, require
from shared.idempotency import IdempotencyKey, mark_replayed, request_fingerprint
from shared.openapi import error_responses

router = APIRouter(prefix="/v1", tags=["complaints"])

Writer = Annotated[Principal, Depends(require("frontend", "admin"))]
Reader = Annotated[Principal, Depends(require("frontend", "owner", "supervisor", "admin"))]


@router.post(
    "/complaints",
    status_code=201,
    response_model=ComplaintPublic,
    responses={200: {"model": ComplaintPublic, "description": "Joined the open complaint."}},
)
async def create_complaint(
    body: ComplaintCreate,
    rt: IntakeRuntimeDep,
    _: Writer,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> ComplaintPublic:
    """Receive a complaint from any channel (201). From a customer with an open complaint on the
    same matter (category and product) it joins that one as a follow-up contact instead: 200,
    the existing reference and `joined: true` — unless `new_matter` is true. A repeated
    Idempotency-Key returns the first answer."""
    fingerprint = request_fingerprint(body)
    complaint, replayed = await commands.receive_complaint(rt, body, idempotency_key, fingerprint)
    mark_replayed(response, replayed)
    if complaint.joined:
        response.status_code = 200
    return complaint


@router.get("/complaints/{complaint_id}", response_model=ComplaintPublic)
async def read_complaint(complaint_id: str, rt: IntakeRuntimeDep, who: Reader) -> ComplaintPublic:
    """A complaint as received, with its follow-up contacts."""
    complaint = await commands.get_complaint(rt, complaint_id)
    await access.record(rt, who, complaint_id, "GET /v1/complaints/{id}")
    return complaint


@router.post("/complaints/{complaint_id}/contacts", status_code=201, response_model=ContactPublic)
async def create_contact(
    complaint_id: str,
    body: ContactCreate,
    rt: IntakeRuntimeDep,
    _: Writer,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> ContactPublic:
    """A follow-up contact on any channel, appended to the complaint's history."""
    fingerprint = request_fingerprint(body)
    contact, replayed = await commands.add_contact(
        rt, complaint_id, body, idempotency_key, fingerprint
    )
    mark_replayed(response, replayed)
    return contact


class SplitBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    category: str = Field(min_length=1, max_length=100, description="The other matter's.")
    product: str | None = Field(None, max_length=200)
    reason: str = Field(min_length=3, max_length=500)


@router.post(
    "/complaints/{complaint_id}/contacts/{contact_id}/split",
    status_code=201,
    response_model=ComplaintPublic,
    responses=error_responses(404, 409),
)
async def split_contact(
    complaint_id: str,
    contact_id: str,
    body: SplitBody,
    rt: IntakeRuntimeDep,
    who: Annotated[Principal, Depends(require("supervisor", "admin"))],
) -> ComplaintPublic:
    """A follow-up that is another matter becomes its own complaint (the same customer, its
    channel and words, the category given), owned like any other; the first complaint's case
    is told where it went. 409 `contact_already_split`."""
    return await split_commands.split_contact(
        rt, complaint_id, contact_id, body.category, body.product, body.reason, who.subject
    )
