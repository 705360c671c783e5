"""The owner's attestation of what the customer said, answered once per Idempotency-Key.

An attestation is recorded as an inbound message whether it is accepted or refused, so the key
remembers that message: a repeat with the same key, body and attester gets the same answer
again (a refusal included) and records nothing; the same key with another request is refused
by `shared.idempotency.once`.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import Row, select

from services.confirmation.domain import Reason, Verdict
from services.confirmation.models import idempotency_keys, inbound_messages
from services.confirmation.reply_commands import Reply, ReplyResult, answer, log_outcome
from services.confirmation.schemas import AttestationCreate
from shared.events import Channel
from shared.idempotency import Answering, Keyed, once
from shared.idempotency import request_fingerprint as fp
from shared.service import Runtime
from shared.uow import UnitOfWork


def attestation_reply(
    request_id: str, body: AttestationCreate, attester: str, received_at: datetime
) -> Reply:
    return Reply(
        channel=Channel.phone,  # replaced by the request's own channel once it is found
        sender=attester,
        envelope_sender=None,
        subject=f"attestation {body.evidence_type}",
        body="",
        new_text=body.customer_words,
        received_at=received_at,
        choice=Verdict(body.answer),
        request_id=request_id,
        attested=True,
        evidence_type=body.evidence_type,
        evidence_ref=body.evidence_ref,
    )


async def receive_attestation(
    rt: Runtime,
    request_id: str,
    body: AttestationCreate,
    attester: str,
    received_at: datetime,
    key: str | None,
) -> tuple[ReplyResult, bool]:
    """Record the attestation unless this key already did; returns (result, replayed)."""
    request = Keyed(idempotency_keys, f"attestation:{request_id}", key, fp(body, attester))
    reply = attestation_reply(request_id, body, attester, received_at)
    result, replayed = await once(rt.uow, request, lambda uow, _: answer(uow, reply), ATTESTED)
    if not replayed:
        log_outcome(result)
    return result, replayed


async def _replay(uow: UnitOfWork, row: Row[Any]) -> ReplyResult:
    query = select(inbound_messages).where(inbound_messages.c.id == row.resource_id)
    message = (await uow.conn.execute(query)).one()
    return ReplyResult(
        inbound_id=message.id,
        verdict=Verdict(message.verdict),
        reason=None if message.reason is None else Reason(message.reason),
        request_id=message.request_id,
        complaint_id=message.complaint_id,
        channel=Channel(message.channel),
    )


# The key keeps the inbound message the attestation was recorded as, accepted or refused.
ATTESTED = Answering[ReplyResult](lambda result: {"resource_id": result.inbound_id}, _replay)
