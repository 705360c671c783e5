"""The customer's answer: one use case for every inbound channel (SMTP today, webhooks later).

A reply is recorded whatever happens to it. It becomes `confirmation.confirmed` / `.rejected`
/ `.unclear` only when it carries the token of a pending request on the same channel and comes
from the original address; the token is consumed in the same transaction as the event.
"""

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, select, update

from services.confirmation import domain
from services.confirmation.domain import Reason, Status, Verdict
from services.confirmation.models import complaints, inbound_messages, requests
from shared.events import Channel, ConfirmationAnswered, new_event
from shared.logging import get_logger
from shared.service import Runtime
from shared.uow import UnitOfWork

log = get_logger(__name__)

PRODUCER = "confirmation"
STORED_TEXT_LIMIT = 20_000


@dataclass(frozen=True)
class Reply:
    channel: Channel
    sender: str | None  # who the message says it is from (the From header, the number)
    envelope_sender: str | None  # the transport's sender where it has one (SMTP MAIL FROM)
    subject: str
    body: str  # everything, quotes included, searched for the token
    new_text: str  # only what the customer wrote now: this is what is read for meaning
    message_id: str | None = None
    automatic: bool = False
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def senders(self) -> tuple[str | None, ...]:
        if self.envelope_sender is None:
            return (self.sender,)
        return (self.sender, self.envelope_sender)


@dataclass(frozen=True)
class ReplyResult:
    inbound_id: str
    verdict: Verdict
    reason: Reason | None
    request_id: str | None
    complaint_id: str | None


async def receive_reply(rt: Runtime, reply: Reply) -> ReplyResult:
    """Record the reply and, when it is the customer's answer, act on it."""
    token = domain.find_token(reply.subject, reply.body)
    async with rt.uow() as uow:
        request = await _request_with_token(uow, token)
        facts = None if request is None else _facts(request)
        reason = domain.refusal(facts, reply.channel, reply.senders, reply.automatic)
        verdict = domain.classify_reply(reply.new_text) if reason is None else Verdict.rejected
        if request is not None and reason is None and not await _consume(uow, request, verdict):
            # Another reply with the same token committed first: that one is the answer.
            verdict, reason = Verdict.rejected, Reason.token_used
        if request is not None and reason is None:
            _announce(uow, request, reply, verdict)
        result = await _record(uow, reply, request, verdict, reason)
        await uow.commit()
    log_fields = {"inbound_id": result.inbound_id, "request_id": result.request_id}
    if reason is None:
        log.info("reply_accepted", verdict=verdict.value, **log_fields)
    else:
        log.warning("reply_refused", reason=reason.value, channel=reply.channel.value, **log_fields)
    return result


async def _mentioned_complaint(uow: UnitOfWork, reply: Reply) -> str | None:
    """Attribute a reply without a usable token by the reference it quotes (visibility only)."""
    reference = domain.find_reference(reply.subject, reply.body)
    if reference is None:
        return None
    found = await uow.conn.scalar(
        select(complaints.c.id).where(complaints.c.reference == reference)
    )
    return None if found is None else str(found)


async def _request_with_token(uow: UnitOfWork, token: str | None) -> Row[Any] | None:
    if token is None:
        return None
    query = select(requests).where(requests.c.token_hash == domain.hash_token(token))
    return (await uow.conn.execute(query)).first()


def _facts(request: Row[Any]) -> domain.RequestFacts:
    return domain.RequestFacts(
        status=request.status, channel=request.channel, contact=request.contact
    )


async def _consume(uow: UnitOfWork, request: Row[Any], verdict: Verdict) -> bool:
    """Conditional on the request still being pending, so two racing replies cannot both win."""
    values: dict[str, Any] = {"last_reply_at": datetime.now(UTC)}
    status = domain.ANSWER_STATUS.get(verdict)
    if status is not None:
        values.update(
            status=status.value, answer=verdict.value, answered_at=values["last_reply_at"]
        )
    result = await uow.conn.execute(
        update(requests)
        .where(requests.c.id == request.id, requests.c.status == Status.pending.value)
        .values(**values)
    )
    return bool(result.rowcount == 1)


def _announce(uow: UnitOfWork, request: Row[Any], reply: Reply, verdict: Verdict) -> None:
    data = ConfirmationAnswered(
        request_id=request.id,
        channel=Channel(request.channel),
        received_at=reply.received_at,
        evidence=domain.evidence(reply.new_text),
        attested=False,
    )
    event_type = domain.ANSWER_EVENT[verdict]
    uow.emit(new_event(event_type, data, producer=PRODUCER, complaint_id=request.complaint_id))


async def _record(
    uow: UnitOfWork,
    reply: Reply,
    request: Row[Any] | None,
    verdict: Verdict,
    reason: Reason | None,
) -> ReplyResult:
    inbound_id = str(uuid.uuid4())
    complaint_id = (
        request.complaint_id if request is not None else await _mentioned_complaint(uow, reply)
    )
    request_id = None if request is None else request.id
    await uow.conn.execute(
        inbound_messages.insert().values(
            id=inbound_id,
            complaint_id=complaint_id,
            request_id=request_id,
            channel=reply.channel.value,
            sender=(reply.sender or "")[:320],
            envelope_sender=None if reply.envelope_sender is None else reply.envelope_sender[:320],
            subject=domain.redact_tokens(reply.subject),
            text=domain.redact_tokens(reply.new_text)[:STORED_TEXT_LIMIT],
            message_id=None if reply.message_id is None else reply.message_id[:300],
            verdict=verdict.value,
            reason=None if reason is None else reason.value,
            received_at=reply.received_at,
        )
    )
    return ReplyResult(inbound_id, verdict, reason, request_id, complaint_id)
