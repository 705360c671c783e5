"""Use cases driven by confirmation's follow-ups: unanswered requests and independent audits.

A failed audit is the one way a closed case opens again: the customer told an auditor, who is
not the owner, that the problem is not really solved. The case goes back to the same owner.
"""

from services.ownership.answer_reactions import reopen
from services.ownership.reactions import case_id_of
from services.ownership.repository import append, take_case
from shared.events import AuditCompleted, AuditRequested, ConfirmationNoAnswer, Envelope
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
        "follow_up": case.owner_id,
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
    if data.outcome == "passed" or case.status != "closed":
        await append(conn, case_id, "audit_completed", "auditor", detail)
        return
    request_id = data.request_id or data.audit_id or envelope.event_id
    await reopen(uow, envelope, case, "audit_fail", "auditor", detail, request_id, "audit_failed")
