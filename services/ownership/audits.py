"""Use cases driven by confirmation's follow-ups: unanswered requests and independent audits.

A failed audit is the one way a closed case opens again: the customer told an auditor, who is
not the owner, that the problem is not really solved. The case goes back to the same owner.
"""

from services.ownership import orgstore, timers
from services.ownership.domain import case_deadline, transition
from services.ownership.reactions import case_id_of, caused_event
from services.ownership.repository import append, now, save_case, take_case
from shared.events import (
    AuditCompleted,
    AuditRequested,
    CaseReopened,
    ConfirmationNoAnswer,
    Envelope,
)
from shared.uow import UnitOfWork


async def note_no_answer(uow: UnitOfWork, envelope: Envelope) -> None:
    """The customer did not answer any reminder: the owner must contact them."""
    data, case_id = envelope.parsed(), case_id_of(envelope)
    assert isinstance(data, ConfirmationNoAnswer)
    case = await take_case(uow.conn, case_id)
    detail = {
        "request_id": data.request_id,
        "channel": data.channel.value,
        "reminders_sent": data.reminders_sent,
        "follow_up": case["owner_id"],
    }
    await append(uow.conn, case_id, "customer_not_answering", envelope.producer, detail)


async def note_audit_requested(uow: UnitOfWork, envelope: Envelope) -> None:
    data, case_id = envelope.parsed(), case_id_of(envelope)
    assert isinstance(data, AuditRequested)
    await take_case(uow.conn, case_id)
    # Never who audits nor by when: the owner reads this timeline.
    detail = {"audit_id": data.audit_id, "attested": data.attested}
    await append(uow.conn, case_id, "audit_requested", envelope.producer, detail)


async def audit_completed(uow: UnitOfWork, envelope: Envelope) -> None:
    """A passed audit is noted; a failed one reopens the closed case with the same owner."""
    data, case_id, conn = envelope.parsed(), case_id_of(envelope), uow.conn
    assert isinstance(data, AuditCompleted)
    case = await take_case(conn, case_id)
    detail = {
        "audit_id": data.audit_id,
        "outcome": data.outcome,
        "notes": data.notes,
    }
    if data.outcome == "passed" or case["status"] != "closed":
        await append(conn, case_id, "audit_completed", "auditor", detail)
        return
    status, at = transition("audit_fail", case["status"]), now()
    policy = await orgstore.case_policy(conn)
    when = case_deadline(policy, at, case["priority"])
    await timers.plan(conn, "case", case_id, case_id, when)
    count = case["reopen_count"] + 1
    await save_case(
        conn,
        case_id,
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
        "owner_id": case["owner_id"],
        "due_at": when.due_at.isoformat(),
    }
    await append(conn, case_id, "reopened", "auditor", reopened)
    request_id = data.request_id or data.audit_id or envelope.event_id
    event = CaseReopened(
        request_id=request_id,
        reason="audit_failed",
        reopen_count=count,
        proposal_no=case["proposal_no"],
    )
    uow.emit(caused_event("case.reopened", event, case_id, envelope))
