"""What intake learns from the bus: the case's status, team, priority and due time; and the
complaints customers sent by email or SMS (submission_reactions.py).

Intake reads no other service's tables; ownership announces each step of the case and escalation
the priority. Each event is applied once (the inbox) and only if it is not older than the one
that set the current status, so a late or redelivered step never takes the status back.
"""

from sqlalchemy import select, update

from services.intake import erasure, submission_reactions
from services.intake.models import complaints
from services.intake.settings import IntakeRuntime
from shared.events import (
    EVENT_DATA,
    CaseAssigned,
    CaseReassigned,
    ComplaintPrioritized,
    Envelope,
)
from shared.logging import get_logger
from shared.service import EventHandler
from shared.uow import UnitOfWork

log = get_logger(__name__)

# The status each case event leaves the case in; None: the status does not change.
STATUS_AFTER: dict[str, str | None] = {
    "case.assigned": "assigned",
    "case.reassigned": None,
    "case.resolution_proposed": "resolution_proposed",
    "case.confirmation_reasked": "resolution_proposed",
    "case.resolution_withdrawn": "in_progress",
    "case.closed": "closed",
    "case.reopened": "reopened",
    "case.merged": "merged",
    "case.unmerged": "in_progress",
}


async def case_changed(uow: UnitOfWork, envelope: Envelope) -> None:
    data, at = envelope.parsed(), envelope.occurred_at
    values: dict[str, object] = {}
    if isinstance(data, CaseAssigned):
        values.update(owner_team=data.team, due_at=data.due_at)
    elif isinstance(data, CaseReassigned) and data.due_at is not None:
        values.update(due_at=data.due_at)
    status = STATUS_AFTER[envelope.type]
    row = complaints.c
    if status is not None:
        await uow.conn.execute(
            update(complaints)
            .where(row.id == envelope.complaint_id, row.status_at.is_(None) | (row.status_at <= at))
            .values(status=status, status_at=at, **values)
        )
    elif values:
        await uow.conn.execute(
            update(complaints)
            .where(row.id == envelope.complaint_id, row.status_at.is_(None) | (row.status_at <= at))
            .values(**values)
        )
    log.info("case_status_learnt", type=envelope.type, complaint_id=envelope.complaint_id)
    if status == "closed":  # the last open complaint may have held an erasure back
        customer = await uow.conn.scalar(
            select(complaints.c.customer_id).where(row.id == envelope.complaint_id)
        )
        await erasure.proceed_for_customer(uow, customer)


async def prioritized(uow: UnitOfWork, envelope: Envelope) -> None:
    data = envelope.parsed()
    assert isinstance(data, ComplaintPrioritized)
    await uow.conn.execute(
        update(complaints)
        .where(complaints.c.id == envelope.complaint_id)
        .values(priority=data.priority)
    )


def build_handlers(rt: IntakeRuntime) -> dict[str, EventHandler]:
    settings = rt.settings

    async def erased(uow: UnitOfWork, envelope: Envelope) -> None:
        await erasure.confirmed(uow, envelope, settings.erasure_services)

    async def submitted(uow: UnitOfWork, envelope: Envelope) -> None:
        await submission_reactions.receive_submission(uow, envelope, settings)

    table: dict[str, EventHandler] = {t: case_changed for t in STATUS_AFTER}
    table["complaint.prioritized"] = prioritized
    table["complaint.submitted"] = submitted
    for event_type in EVENT_DATA:
        if event_type.startswith("customer.erased."):
            table[event_type] = erased
    return table
