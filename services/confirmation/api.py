"""Confirmation HTTP routes for staff and front ends: they only translate to use cases."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from sqlalchemy import select

from services.confirmation.attestation_commands import receive_attestation
from services.confirmation.domain import Reason
from services.confirmation.models import case_owners
from services.confirmation.queries import confirmations_of
from services.confirmation.schemas import AnswerPublic, AttestationCreate, ConfirmationsPublic
from services.confirmation.settings import ConfirmationRuntimeDep
from shared.auth import Principal, require
from shared.errors import Conflict, DomainError, Forbidden, NotFound
from shared.idempotency import IdempotencyKey, mark_replayed
from shared.openapi import error_responses

router = APIRouter(prefix="/v1", tags=["confirmations"])

Reader = Annotated[Principal, Depends(require("owner", "supervisor", "admin", "frontend"))]
Owner = Annotated[Principal, Depends(require("owner"))]


@router.get(
    "/confirmations", response_model=ConfirmationsPublic, responses=error_responses(403, 404)
)
async def list_confirmations(
    rt: ConfirmationRuntimeDep,
    who: Reader,
    complaint_id: Annotated[str, Query(min_length=1, max_length=36)],
) -> ConfirmationsPublic:
    """A complaint's confirmation requests, the messages sent and the replies received. An owner
    reads those of the cases they own now (403 `not_case_owner`): the customer's words and
    addresses are for the person answering them."""
    if who.role == "owner":
        async with rt.engine.connect() as conn:
            owner = await conn.scalar(
                select(case_owners.c.owner_id).where(case_owners.c.complaint_id == complaint_id)
            )
        if owner != who.subject:
            raise Forbidden("not_case_owner", "An owner reads the messages of their own cases.")
    return await confirmations_of(rt, complaint_id)


class Unprocessable(DomainError):
    status_code = 422


_REFUSED_AS: dict[Reason, type[DomainError]] = {
    Reason.not_owner: Forbidden,
    Reason.wrong_channel: Conflict,
    Reason.token_used: Conflict,
    Reason.unknown_token: NotFound,
    Reason.evidence_mismatch: Unprocessable,
    Reason.sender_mismatch: Unprocessable,
}
_MESSAGES = {
    Reason.not_owner: "Only the case's current owner may attest the customer's answer.",
    Reason.wrong_channel: "This request is answered by the customer on its own channel "
    "until that answer is unclear or does not come.",
    Reason.token_used: "This request is no longer awaiting an answer.",
    Reason.unknown_token: "No such confirmation request.",
    Reason.evidence_mismatch: "The evidence does not fit the channel: call_reference for "
    "phone, visit_note for walk_in, letter_scan for letter, message_id (a Message-ID) for "
    "email, sender_number for sms, transcript_ref for web and chat.",
    Reason.sender_mismatch: "The number given is not the one the customer complained from.",
}


@router.post(
    "/confirmations/{request_id}/attestations", response_model=AnswerPublic, status_code=201
)
async def attest(
    rt: ConfirmationRuntimeDep,
    who: Owner,
    request: Request,
    body: AttestationCreate,
    request_id: Annotated[str, Path(min_length=1, max_length=36)],
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> AnswerPublic:
    """The owner records what the customer said on the phone, at a counter or in a letter, or
    on a message channel once the customer's own answer was unclear or never came. A repeated
    Idempotency-Key gives the first answer again, a refusal included, and records nothing."""
    result, replayed = await receive_attestation(
        rt, request_id, body, who.subject, request.app.state.clock(), idempotency_key
    )
    if result.reason is not None:
        error = _REFUSED_AS.get(result.reason, Conflict)
        raise error(result.reason.value, _MESSAGES.get(result.reason, "Not accepted."))
    mark_replayed(response, replayed)
    return AnswerPublic(
        inbound_id=result.inbound_id,
        request_id=result.request_id,
        verdict=result.verdict.value,
        reason=None,
    )
