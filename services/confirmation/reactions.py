"""Confirmation use cases driven by the case's events: remember, ask, supersede, retire, close.

Email, SMS, web and chat requests queue a message for the sender; on phone, walk-in and
letter the request waits for the owner's attestation and is announced at once.
"""

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, func, select, update

from services.confirmation import domain, owner_reactions
from services.confirmation.models import (
    complaints,
    requests,
    stored_correlation_id,
)
from services.confirmation.questions import (
    Question,
    cancel_queued,
    first_reminder_at,
    link_expiry,
    queue_question,
    token_hash,
)
from services.confirmation.settings import ConfirmationSettings
from shared.errors import RetryLater
from shared.events import (
    CaseClosed,
    CaseReopened,
    CaseResolutionProposed,
    CaseResolutionWithdrawn,
    Channel,
    ComplaintReceived,
    ConfirmationRequested,
    Envelope,
    new_event,
)
from shared.logging import get_logger
from shared.uow import UnitOfWork

log = get_logger(__name__)


class ComplaintNotYetKnown(RetryLater):
    """The proposal overtook its `complaint.received`; raising makes the broker redeliver it."""


def _now() -> datetime:
    return datetime.now(UTC)


async def remember_complaint(uow: UnitOfWork, envelope: Envelope) -> None:
    data = envelope.parsed()
    assert isinstance(data, ComplaintReceived)
    known = await uow.conn.scalar(
        select(complaints.c.id).where(complaints.c.id == envelope.complaint_id)
    )
    if known is not None:
        return
    await uow.conn.execute(
        complaints.insert().values(
            id=envelope.complaint_id,
            reference=data.reference,
            channel=data.channel.value,
            contact=data.contact,
            customer_key=data.customer_key,
            received_at=data.received_at,
            language=data.language,
        )
    )


async def request_confirmation(
    uow: UnitOfWork, envelope: Envelope, settings: ConfirmationSettings, now: datetime
) -> None:
    """Ask the customer, on the original channel and address, whether the proposal resolves it."""
    data = envelope.parsed()
    assert isinstance(data, CaseResolutionProposed)
    complaint_id = envelope.complaint_id
    # Locking the complaint serialises its proposals, so exactly one request is left pending.
    query = select(complaints).where(complaints.c.id == complaint_id).with_for_update()
    complaint = (await uow.conn.execute(query)).first()
    if complaint is None:
        raise ComplaintNotYetKnown(f"complaint {complaint_id} has not been received yet")
    latest = await uow.conn.scalar(
        select(func.max(requests.c.proposal_no)).where(requests.c.complaint_id == complaint_id)
    )
    if latest is not None and latest >= data.proposal_no:
        # A redelivery, or a proposal overtaken by a newer one (a re-ask): nothing to ask.
        log.info("proposal_already_requested", latest=latest, proposal_no=data.proposal_no)
        return
    await _supersede_open_requests(uow, str(complaint_id))
    channel = Channel(complaint.channel)
    token = domain.token_for(channel) if channel in domain.MESSAGE_CHANNELS else None
    request_id = str(uuid.uuid4())
    await uow.conn.execute(
        requests.insert().values(
            id=request_id,
            complaint_id=complaint_id,
            owner_id=data.owner_id,
            channel=channel.value,
            contact=complaint.contact,
            outcome=data.outcome,
            summary=data.summary,
            proposal_no=data.proposal_no,
            status=domain.Status.pending.value,
            token_hash=token_hash(settings, token) if token else None,
            token_expires_at=link_expiry(settings, channel, now),
            reminders_sent=0,
            next_reminder_at=first_reminder_at(settings, channel, now),
            created_at=now,
        )
    )
    await owner_reactions.remember(uow, str(complaint_id), data.owner_id, now, only_if_unknown=True)
    if token is not None:
        question = question_of(request_id, complaint, data, envelope.correlation_id)
        await queue_question(uow, settings, question, token, now)
    else:
        # Nothing to send: the owner asks in person and attests; the request stands from now.
        asked = ConfirmationRequested(
            request_id=request_id, channel=channel, sent_at=now, proposal_no=data.proposal_no
        )
        uow.emit(
            new_event(
                "confirmation.requested",
                asked,
                producer="confirmation",
                complaint_id=str(complaint_id),
                cause=envelope,
            )
        )
    log.info("confirmation_request_created", request_id=request_id, channel=channel.value)


def question_of(
    request_id: str, complaint: Row[Any], proposal: Any, correlation_id: str
) -> Question:
    return Question(
        request_id=request_id,
        complaint_id=str(complaint.id),
        reference=complaint.reference,
        channel=Channel(complaint.channel),
        contact=complaint.contact,
        outcome=proposal.outcome,
        summary=proposal.summary,
        correlation_id=stored_correlation_id(correlation_id),
        language=complaint.language,
    )


async def _supersede_open_requests(uow: UnitOfWork, complaint_id: str) -> None:
    await _end(uow, complaint_id, domain.OPEN_STATUSES, domain.Status.superseded, "superseded")


async def close_requests(uow: UnitOfWork, envelope: Envelope) -> None:
    """The case closed: nothing of it can be answered any more; answers already given stay."""
    data = envelope.parsed()
    assert isinstance(data, CaseClosed)
    closable = (*domain.OPEN_STATUSES, domain.Status.confirmed)
    reason = f"case_closed: {data.reason}"
    await _end(uow, str(envelope.complaint_id), closable, domain.Status.closed, reason)


async def retire_open_requests(uow: UnitOfWork, envelope: Envelope) -> None:
    """The case reopened: a still-open request of that proposal asks about something that no
    longer stands. Only that proposal's: a late reopen must not kill a newer proposal's ask."""
    data = envelope.parsed()
    assert isinstance(data, CaseReopened)
    complaint_id = str(envelope.complaint_id)
    await _end(
        uow,
        complaint_id,
        domain.OPEN_STATUSES,
        domain.Status.closed,
        "case_reopened",
        proposal_no=data.proposal_no or None,
    )


class ProposalNotYetKnown(RetryLater):
    """A withdrawal overtook its proposal; raising makes the broker redeliver it."""


async def withdraw_requests(uow: UnitOfWork, envelope: Envelope) -> None:
    """The owner withdrew the proposal: its request is retired, so a late yes is refused."""
    data = envelope.parsed()
    assert isinstance(data, CaseResolutionWithdrawn)
    complaint_id = str(envelope.complaint_id)
    query = select(complaints.c.id).where(complaints.c.id == complaint_id).with_for_update()
    await uow.conn.execute(query)
    latest = await uow.conn.scalar(
        select(func.max(requests.c.proposal_no)).where(requests.c.complaint_id == complaint_id)
    )
    if latest is None or latest < data.proposal_no:
        # Retiring nothing now would leave the proposal's request to be asked when it arrives.
        raise ProposalNotYetKnown(f"proposal {data.proposal_no} of {complaint_id} not seen yet")
    reason = f"resolution_withdrawn: {data.reason}"
    await _end(
        uow,
        complaint_id,
        domain.OPEN_STATUSES,
        domain.Status.closed,
        reason,
        proposal_no=data.proposal_no,
    )


async def _end(
    uow: UnitOfWork,
    complaint_id: str,
    statuses: tuple[str, ...],
    to: domain.Status,
    reason: str,
    proposal_no: int | None = None,
) -> None:
    """Move the complaint's requests in `statuses` (of one proposal when given) to a final
    status; never back to pending."""
    where: list[ColumnElement[bool]] = [
        requests.c.complaint_id == complaint_id,
        requests.c.status.in_(statuses),
    ]
    if proposal_no is not None:
        where.append(requests.c.proposal_no == proposal_no)
    chosen: Select[tuple[str]] = select(requests.c.id).where(*where)
    # An email still waiting in the queue would ask about a proposal that no longer stands.
    await cancel_queued(uow, chosen)
    await uow.conn.execute(
        update(requests)
        .where(*where)
        .values(status=to.value, closed_at=_now(), closed_reason=reason[:200])
    )
