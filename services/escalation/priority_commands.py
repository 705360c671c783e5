"""A supervisor's priority override: a new priority with a reason, re-planning the case's SLA.

The override is the last word: the rules at intake and an incident's growth no longer change the
priority once a person has set it. Setting the same priority with the same reason again changes
nothing and announces nothing (the PUT is idempotent).
"""

from datetime import UTC, datetime

from sqlalchemy import update

from services.escalation.models import priorities
from services.escalation.priority_queries import priority_of
from services.escalation.schemas import PriorityOverride, PriorityPublic
from shared.events import ComplaintPrioritized, new_event
from shared.service import Runtime

PRODUCER = "escalation"
OVERRIDE_PREFIX = "overridden by "


def override_line(who: str, reason: str) -> str:
    return f"{OVERRIDE_PREFIX}{who}: {reason}"


async def override(
    rt: Runtime, complaint_id: str, body: PriorityOverride, who: str
) -> PriorityPublic:
    async with rt.uow() as uow:
        current = await priority_of(uow.conn, complaint_id, for_update=True)
        unchanged = (current.priority, current.overridden_by, current.override_reason) == (
            body.priority,
            who,
            body.reason,
        )
        if unchanged:
            return current
        # The rules' reasons stay (why it was first appraised so); an earlier override's line goes.
        kept = [r for r in current.reasons if not r.startswith(OVERRIDE_PREFIX)]
        reasons = [*kept, override_line(who, body.reason)]
        await uow.conn.execute(
            update(priorities)
            .where(priorities.c.complaint_id == complaint_id)
            .values(
                priority=body.priority,
                reasons=reasons,
                appraised_at=datetime.now(UTC),
                overridden_by=who,
                override_reason=body.reason,
            )
        )
        data = ComplaintPrioritized(priority=body.priority, reasons=reasons, overridden_by=who)
        uow.emit(
            new_event("complaint.prioritized", data, producer=PRODUCER, complaint_id=complaint_id)
        )
        answer = await priority_of(uow.conn, complaint_id)
        await uow.commit()
    return answer
