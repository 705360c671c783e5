"""The customer's answer: one use case for every inbound channel (SMTP, webhooks, the page).

A reply is recorded whatever happens to it. It becomes `confirmation.confirmed` / `.rejected`
/ `.unclear` only when it carries a live token of a pending request on the same channel and
comes from the original address or number; the request is answered in the same transaction
as the event, so a token answers once.
"""

import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from prometheus_client import Counter
from sqlalchemy import Row, update

from services.confirmation import customer_messages, domain, reply_matching, submissions
from services.confirmation.domain import Reason, Status, Verdict
from services.confirmation.models import inbound_messages, requests
from services.confirmation.settings import ConfirmationRuntime
from shared.events import Channel, ConfirmationAnswered, new_event
from shared.logging import get_logger
from shared.uow import UnitOfWork

log = get_logger(__name__)

PRODUCER = "confirmation"
REPLIES_REFUSED = Counter(
    "confirmation_replies_refused_total", "Inbound replies refused", ["reason", "channel"]
)
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
    dmarc: str | None = None  # the DMARC verdict an email came with, when there was one
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    token: str | None = None  # given outright by the confirmation page, else found in the text
    choice: Verdict | None = None  # the page's button; the comment can only make it unclear
    refused: Reason | None = None  # the transport already refused it (a bad signature)
    signature: str | None = None  # a webhook's verified signature: accepted once only
    request_id: str | None = None  # an attestation names its request outright
    attested: bool = False  # the owner records what the customer said, with evidence
    evidence_type: str | None = None
    evidence_ref: str | None = None
    to_complaints: bool = False  # sent to the complaints address or number, not to a question
    sender_name: str | None = None  # the display name of the From header, when there is one

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
    channel: Channel


async def receive_reply(rt: ConfirmationRuntime, reply: Reply) -> ReplyResult:
    """Record the reply and, when it is the customer's answer, act on it."""
    settings = rt.settings
    async with rt.uow() as uow:
        result = await answer(uow, reply, settings.token_hash_secret)
        await uow.commit()
    log_outcome(result)
    return result


async def answer(uow: UnitOfWork, reply: Reply, token_secret: str | None = None) -> ReplyResult:
    """The whole of `receive_reply` inside the caller's unit of work, which commits it.

    `token_secret` keys the token hashes; only a reply naming its request may go without it.
    """
    request, expires_at = await reply_matching.find_request(uow, reply, token_secret)
    if reply.attested and request is not None:
        reply = replace(reply, channel=Channel(request.channel))
    transport = reply.refused or await reply_matching.replayed(uow, reply)
    if reply.attested:
        reason = transport or await _attestation_refusal(uow, reply, request)
        verdict = (
            domain.meaning(reply.new_text, reply.choice, acknowledging=False)
            if reason is None
            else Verdict.rejected
        )
    else:
        facts = None if request is None else reply_matching.facts_of(request, expires_at)
        verdict, reason = domain.gate(
            facts,
            reply.channel,
            reply.senders,
            reply.new_text,
            automatic=reply.automatic,
            now=reply.received_at,
            transport=transport,
            choice=reply.choice,
        )
    if (
        request is not None
        and reason is None
        and not await _consume(uow, request, verdict, reply.attested)
    ):
        # Another reply with the same token committed first: that one is the answer.
        verdict, reason = Verdict.rejected, Reason.token_used
    if request is not None and reason is None:
        _announce(uow, request, reply, verdict)
    result = await _record(uow, reply, request, verdict, reason)
    if reply.to_complaints and request is None and reason == Reason.unknown_token:
        joined = await submissions.submit(uow, reply, result.inbound_id)
    else:
        joined = await customer_messages.pass_on(uow, reply, request, reason, result.inbound_id)
    return result if joined is None else replace(result, complaint_id=joined)


def log_outcome(result: ReplyResult) -> None:
    log_fields = {"inbound_id": result.inbound_id, "request_id": result.request_id}
    if result.reason is None:
        log.info("reply_accepted", verdict=result.verdict.value, **log_fields)
    else:
        REPLIES_REFUSED.labels(result.reason.value, result.channel.value).inc()
        log.warning(
            "reply_refused",
            reason=result.reason.value,
            channel=result.channel.value,
            **log_fields,
        )


async def _attestation_refusal(
    uow: UnitOfWork, reply: Reply, request: Row[Any] | None
) -> Reason | None:
    if request is None:
        return Reason.unknown_token
    owner = await reply_matching.current_owner(uow, request)
    stuck = await reply_matching.needs_owner(uow, request)
    facts = replace(reply_matching.facts_of(request, None), needs_owner=stuck)
    return domain.attestation_refusal(
        facts, owner, reply.sender or "", reply.evidence_type, reply.evidence_ref
    )


async def _consume(uow: UnitOfWork, request: Row[Any], verdict: Verdict, attested: bool) -> bool:
    """Conditional on the request still being answerable, so two racing replies cannot both
    win: pending, or for the owner's attestation also a spent link's `unclear`."""
    values: dict[str, Any] = {"last_reply_at": datetime.now(UTC), "next_reminder_at": None}
    status = domain.ANSWER_STATUS.get(verdict)
    if status is None and request.channel in domain.LINK_CHANNELS:
        status = Status.unclear  # a link answers once, even when the answer needs the owner
    if status is not None:
        values.update(
            status=status.value, answer=verdict.value, answered_at=values["last_reply_at"]
        )
    answerable = [Status.pending.value] + ([Status.unclear.value] if attested else [])
    result = await uow.conn.execute(
        update(requests)
        .where(requests.c.id == request.id, requests.c.status.in_(answerable))
        .values(**values)
    )
    return bool(result.rowcount == 1)


def _announce(uow: UnitOfWork, request: Row[Any], reply: Reply, verdict: Verdict) -> None:
    data = ConfirmationAnswered(
        request_id=request.id,
        channel=Channel(request.channel),
        received_at=reply.received_at,
        evidence=_evidence(reply),
        attested=reply.attested,
        proposal_no=request.proposal_no,
    )
    event_type = domain.ANSWER_EVENT[verdict]
    uow.emit(new_event(event_type, data, producer=PRODUCER, complaint_id=request.complaint_id))


def _evidence(reply: Reply) -> str:
    if reply.attested:
        said = f"{reply.evidence_type} {reply.evidence_ref}: {reply.new_text}"
        return domain.evidence(f"[attested {reply.choice}] {said}")
    if reply.choice is None:
        return domain.evidence(reply.new_text)
    return domain.evidence(f"[{reply.choice.value}] {reply.new_text}")


async def _record(
    uow: UnitOfWork,
    reply: Reply,
    request: Row[Any] | None,
    verdict: Verdict,
    reason: Reason | None,
) -> ReplyResult:
    inbound_id = str(uuid.uuid4())
    complaint_id = (
        request.complaint_id
        if request is not None
        else await reply_matching.mentioned_complaint(uow, reply)
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
            attested=reply.attested,
            evidence_type=reply.evidence_type,
            evidence_ref=reply.evidence_ref,
        )
    )
    return ReplyResult(inbound_id, verdict, reason, request_id, complaint_id, reply.channel)
