"""Escalation use cases driven by events: appraise a received complaint."""

from datetime import UTC, datetime

from services.escalation import domain
from services.escalation.incidents import reactions as incidents_reactions
from services.escalation.incidents.detector import DetectorConfig
from services.escalation.models import priorities
from shared.events import ComplaintPrioritized, ComplaintReceived, Envelope, new_event
from shared.statements import insert
from shared.uow import UnitOfWork

PRODUCER = "escalation"


async def prioritize_complaint(
    uow: UnitOfWork, envelope: Envelope, rules: domain.RuleBook, detector: DetectorConfig
) -> None:
    """Appraise a received complaint once, emit `complaint.prioritized`, then look for a pattern."""
    if envelope.complaint_id is None:
        raise ValueError(f"complaint.received {envelope.event_id} carries no complaint_id")
    data = envelope.parsed()
    assert isinstance(data, ComplaintReceived)
    priority, reasons = domain.appraise(domain.complaint_texts(data), rules)
    stored = await uow.conn.execute(
        insert(uow.conn, priorities)
        .values(
            complaint_id=envelope.complaint_id,
            priority=priority,
            reasons=reasons,
            appraised_at=datetime.now(UTC),
        )
        .on_conflict_do_nothing()
    )
    # The same complaint announced again under a new event id keeps its first appraisal.
    if not stored.rowcount:
        return
    uow.emit(
        new_event(
            "complaint.prioritized",
            ComplaintPrioritized(priority=priority, reasons=reasons),
            producer=PRODUCER,
            complaint_id=envelope.complaint_id,
            cause=envelope,
        )
    )
    await incidents_reactions.detect(uow, envelope, data, detector, rules, datetime.now(UTC))
