"""Use cases driven by the confirmation service: the customer's answer is the only way to close.

They run inside the dispatcher's unit of work; a case that is missing raises, so the broker
redelivers, and an answer that may not act is kept on the timeline and changes nothing else.
"""

from typing import Any

from sqlalchemy import select

from services.ownership import organisation_store, regulatory, timers
from services.ownership.case import Case
from services.ownership.domain import (
    Status,
    case_deadline,
    closing_outcome,
    judge_answer,
    transition,
)
from services.ownership.models import cases
from services.ownership.reactions import case_id_of, caused_event
from services.ownership.repository import append, now, save_case, take_case
from shared.errors import RetryLater
from shared.events import (
    CaseClosed,
    CaseReopened,
    ConfirmationAnswered,
    ConfirmationRequested,
    Envelope,
)
from shared.uow import UnitOfWork


async def note_request(uow: UnitOfWork, envelope: Envelope) -> None:
    """The customer has been asked, on their channel: the owner sees when and how."""
    data, case_id = envelope.parsed(), case_id_of(envelope)
    assert isinstance(data, ConfirmationRequested)
    case = await take_case(uow.conn, case_id)
    proposal = data.proposal_no or case.proposal_no
    # The one request whose answer may act on the proposal now open (a later one replaces it);
    # a late request of an earlier proposal (before a re-ask) must not take its place.
    if proposal == case.proposal_no:
        await save_case(
            uow.conn,
            case_id,
            confirmation_request_id=data.request_id,
            confirmation_request_proposal=proposal,
        )
    detail = {"request_id": data.request_id, "channel": data.channel.value, "proposal_no": proposal}
    await append(uow.conn, case_id, "confirmation_requested", envelope.producer, detail)


class RequestNotYetRecorded(RetryLater):
    """An answer to a request whose `confirmation.requested` ownership has not handled yet.

    Raised so the broker redelivers the answer after a back-off: the two may be handled out of
    order (concurrent handlers, redeliveries). One that never becomes known is dead-lettered.
    """


def request_refusal(case: Case, request_id: str) -> str | None:
    """Why an answer's request is not the one recorded for the current proposal (None: it is)."""
    recorded = case.confirmation_request_id
    if not case.request_is_current:
        if recorded is not None and recorded == request_id:
            return "request_of_earlier_proposal"
        raise RequestNotYetRecorded(request_id)
    if recorded != request_id:
        return "request_not_current"
    return None


async def answer(uow: UnitOfWork, envelope: Envelope) -> None:
    """A customer's answer acts only on a proposal, and only when given on the original channel."""
    data, case_id, conn = envelope.parsed(), case_id_of(envelope), uow.conn
    assert isinstance(data, ConfirmationAnswered)
    case = await take_case(conn, case_id)
    verdict = judge_answer(
        case.status, case.channel, data.channel.value, case.proposal_no, data.proposal_no
    )
    refused = request_refusal(case, data.request_id) if verdict.applies else None
    detail: dict[str, Any] = {
        "answer": envelope.type.removeprefix("confirmation."),
        "request_id": data.request_id,
        "channel": data.channel.value,
        "evidence": data.evidence,
        "attested": data.attested,
        "proposal_no": data.proposal_no or case.proposal_no,
    }
    if not verdict.applies or refused is not None:
        reason = refused or verdict.reason
        await append(
            conn, case_id, "confirmation_ignored", "customer", {**detail, "reason": reason}
        )
    elif envelope.type == "confirmation.confirmed":
        await _close(uow, envelope, case, data, detail, verdict.reason)
    elif envelope.type == "confirmation.rejected":
        await _reopen(uow, envelope, case, data, detail)
    else:
        follow_up = {**detail, "follow_up": case.owner_id}
        await append(conn, case_id, "confirmation_unclear", "customer", follow_up)


async def _close(
    uow: UnitOfWork,
    envelope: Envelope,
    case: Case,
    data: ConfirmationAnswered,
    detail: dict[str, Any],
    reason: str,
) -> None:
    status, outcome = (
        transition("confirm", case.status),
        closing_outcome(case.proposed_outcome),
    )
    await save_case(uow.conn, case.id, status=status, closed_at=now(), outcome=outcome)
    await timers.cancel(uow.conn, case.id)
    await append(
        uow.conn, case.id, "closed", "customer", {**detail, "status": status, "outcome": outcome}
    )
    closed = CaseClosed(
        request_id=data.request_id,
        reason=reason,
        outcome=outcome,
        attested=data.attested,
        proposal_no=case.proposal_no,
    )
    uow.emit(caused_event("case.closed", closed, case.id, envelope))
    await regulatory.reach_step(uow, case.id, "closed", envelope)
    await _close_merged(uow, envelope, case, closed, detail)


async def _close_merged(
    uow: UnitOfWork, envelope: Envelope, case: Case, closed: CaseClosed, detail: dict[str, Any]
) -> None:
    """The cases merged into this one close with it: the customer's yes here covers their
    matter. Each says so on its timeline and in its `case.closed` (`with_case`)."""
    merged = await uow.conn.scalars(
        select(cases.c.id).where(cases.c.merged_into == case.id, cases.c.status == Status.merged)
    )
    for merged_id in list(merged):
        await take_case(uow.conn, merged_id)
        at = now()
        await save_case(
            uow.conn, merged_id, status=Status.closed, closed_at=at, outcome=closed.outcome
        )
        with_case = {"with_case": case.id, "reference": case.reference}
        entry = {**detail, **with_case, "status": Status.closed, "outcome": closed.outcome}
        await append(uow.conn, merged_id, "closed", "customer", entry)
        reason = f"closed with {case.reference}, which it was merged into: {closed.reason}"
        data = closed.model_copy(update={"reason": reason, "with_case": case.id})
        uow.emit(caused_event("case.closed", data, merged_id, envelope))
        await regulatory.reach_step(uow, merged_id, "closed", envelope)


async def _reopen(
    uow: UnitOfWork,
    envelope: Envelope,
    case: Case,
    data: ConfirmationAnswered,
    detail: dict[str, Any],
) -> None:
    reason = f"customer rejected the resolution on {data.channel.value}"
    await reopen(uow, envelope, case, "reject", "customer", detail, data.request_id, reason)


async def reopen(
    uow: UnitOfWork,
    envelope: Envelope,
    case: Case,
    action: str,
    by: str,
    detail: dict[str, Any],
    request_id: str,
    reason: str,
) -> None:
    """Open the case again with the same owner, after the customer's rejection (`reject`) or a
    failed audit of the closed case (`audit_fail`): the case SLA starts again from now (the
    customer clock never stopped), and the timeline and `case.reopened` say who and why."""
    status, at = transition(action, case.status), now()
    policy = await organisation_store.case_policy(uow.conn)
    when = case_deadline(policy, at, case.priority)
    await timers.plan(uow.conn, "case", case.id, case.id, when)
    count = case.reopen_count + 1
    await save_case(
        uow.conn,
        case.id,
        status=status,
        reopen_count=count,
        sla_started_at=at,
        due_at=when.due_at,
        closed_at=None,
        outcome=None,
    )
    reopened = {
        **detail,
        "status": status,
        "reopen_count": count,
        "owner_id": case.owner_id,
        "due_at": when.due_at.isoformat(),
    }
    await append(uow.conn, case.id, "reopened", by, reopened)
    event = CaseReopened(
        request_id=request_id, reason=reason, reopen_count=count, proposal_no=case.proposal_no
    )
    uow.emit(caused_event("case.reopened", event, case.id, envelope))
