"""The escalation ladder: SLA warnings and breaches climb to the people configured for them."""

from sqlalchemy import select, update

from services.escalation import ladder
from services.escalation.models import case_owners, priorities
from services.escalation.notifications import Escalated, record
from shared.events import (
    AuditOverdue,
    CaseAssigned,
    CaseEscalated,
    CaseReassigned,
    Envelope,
    SlaEvent,
    new_event,
)
from shared.statements import insert
from shared.uow import UnitOfWork

PRODUCER = "escalation"


async def remember_owner(uow: UnitOfWork, envelope: Envelope) -> None:
    """Keep who owns each case and in which team: the first two rungs of its ladder."""
    data, conn, case_id = envelope.parsed(), uow.conn, str(envelope.complaint_id)
    if isinstance(data, CaseAssigned):
        values = {"owner_id": data.owner_id, "team": data.team}
        await conn.execute(
            insert(conn, case_owners)
            .values(case_id=case_id, **values)
            .on_conflict_do_update(index_elements=["case_id"], set_=values)
        )
        return
    assert isinstance(data, CaseReassigned)
    # A hand-over to another team moves the case's ladder there: its lead is escalated to next.
    moved = {"owner_id": data.to_owner_id} | ({"team": data.team} if data.team else {})
    done = await conn.execute(
        update(case_owners).where(case_owners.c.case_id == case_id).values(**moved)
    )
    if not done.rowcount:
        # Overtook its case.assigned: the new owner is kept, and the team if it came along.
        await conn.execute(
            insert(conn, case_owners)
            .values(case_id=case_id, owner_id=data.to_owner_id, team=data.team or "")
            .on_conflict_do_nothing()
        )


async def climb(
    uow: UnitOfWork, envelope: Envelope, config: ladder.EscalationConfig, default: str
) -> None:
    """Send each configured step of this warning or breach once, however often it is repeated."""
    data, conn = envelope.parsed(), uow.conn
    assert isinstance(data, SlaEvent)
    kind = "warning" if envelope.type == "sla.warning" else "breached"
    case_id = envelope.complaint_id or (data.id if data.subject == "case" else None)
    priority = default
    if case_id:
        found = await conn.scalar(
            select(priorities.c.priority).where(priorities.c.complaint_id == case_id)
        )
        priority = found or default
    steps = ladder.steps_for(config, data.subject, kind, priority)
    owner = None
    if case_id:
        query = select(case_owners).where(case_owners.c.case_id == case_id)
        owner = (await conn.execute(query)).first()
    reached = ladder.recipients(
        config,
        steps,
        owner_id=owner.owner_id if owner and data.subject == "case" else None,
        team=owner.team if owner and data.subject == "case" else None,
        department=data.department,
    )
    what = f"{data.subject} {data.id}" + (f" ({data.department})" if data.department else "")
    reason = f"SLA {kind} of {what}, due {data.due_at.isoformat()}, priority {priority}"
    for step in reached:
        escalation = Escalated(
            subject=data.subject,
            subject_id=data.id,
            due_at=data.due_at,
            step=step.step,
            recipient=step.to,
            case_id=case_id,
            reason=reason,
            team=(owner.team or None) if owner else None,
        )
        if not await record(uow, escalation, config):
            continue
        escalated = CaseEscalated(
            level=step.step,
            to=step.to,
            reason=reason,
            subject=data.subject,
            subject_id=data.id,
            department=data.department,
        )
        uow.emit(
            new_event(
                "case.escalated",
                escalated,
                producer=PRODUCER,
                complaint_id=case_id,
                cause=envelope,
                routing_suffix=data.department if data.subject == "task" else None,
            )
        )


async def audit_overdue(
    uow: UnitOfWork, envelope: Envelope, config: ladder.EscalationConfig
) -> None:
    """An audit nobody completed by its due time goes to the head of department, once.

    Not to the owner or the team: the owner must not learn who audits a case or when.
    """
    data = envelope.parsed()
    assert isinstance(data, AuditOverdue)
    to = config.contacts.head_of_department
    kind = "attested " if data.attested else ""
    reason = f"{kind}audit {data.audit_id} not completed by {data.due_at.isoformat()}"
    escalation = Escalated(
        subject="audit",
        subject_id=data.audit_id,
        due_at=data.due_at,
        step="head_of_department",
        recipient=to,
        case_id=envelope.complaint_id,
        reason=reason,
    )
    if not await record(uow, escalation, config):
        return
    escalated = CaseEscalated(
        level="head_of_department", to=to, reason=reason, subject="audit", subject_id=data.audit_id
    )
    uow.emit(
        new_event(
            "case.escalated",
            escalated,
            producer=PRODUCER,
            complaint_id=envelope.complaint_id,
            cause=envelope,
        )
    )
