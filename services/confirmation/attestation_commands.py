"""The owner's attestation of what the customer said, answered once per Idempotency-Key.

An attestation is recorded as an inbound message whether it is accepted or refused, so the key
remembers that message: a repeat with the same key, body and attester gets the same answer
again (a refusal included) and records nothing; the same key with another request is refused
by `shared.idempotency.earlier_use`.
"""

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from services.confirmation.domain import Reason, Verdict
from services.confirmation.models import idempotency_keys, inbound_messages
from services.confirmation.reply_commands import Reply, ReplyResult, answer, log_outcome
from services.confirmation.schemas import AttestationCreate
from shared.events import Channel
from shared.idempotency import earlier_use, request_fingerprint
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
    scope, fp = f"attestation:{request_id}", request_fingerprint(body, attester)
    reply = attestation_reply(request_id, body, attester, received_at)
    try:
        async with rt.uow() as uow:
            if (prior := await _replayed(uow, scope, key, fp)) is not None:
                return prior, True
            result = await answer(uow, reply)
            await _remember(uow, scope, key, fp, result.inbound_id)
            await uow.commit()
    except IntegrityError:
        # A concurrent attestation with the same key committed first: answer as it did.
        async with rt.uow() as uow:
            prior = await _replayed(uow, scope, key, fp)
        if prior is None:
            raise
        return prior, True
    log_outcome(result)
    return result, False


async def _replayed(uow: UnitOfWork, scope: str, key: str | None, fp: str) -> ReplyResult | None:
    row = await earlier_use(uow.conn, idempotency_keys, scope, key, fp)
    if row is None:
        return None
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


async def _remember(uow: UnitOfWork, scope: str, key: str | None, fp: str, inbound_id: str) -> None:
    if key is not None:
        await uow.conn.execute(
            idempotency_keys.insert().values(
                scope=scope,
                key=key,
                request_hash=fp,
                resource_id=inbound_id,
                created_at=datetime.now(UTC),
            )
        )
