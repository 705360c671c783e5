"""Reads of a complaint's priority: what it is, why, and whether a supervisor set it."""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.escalation.models import priorities
from services.escalation.schemas import PriorityPublic
from shared.errors import NotFound
from shared.service import Runtime


async def priority_of(
    conn: AsyncConnection, complaint_id: str, *, for_update: bool = False
) -> PriorityPublic:
    query = select(priorities).where(priorities.c.complaint_id == complaint_id)
    row = (await conn.execute(query.with_for_update() if for_update else query)).first()
    if row is None:
        raise NotFound("priority_not_found", f"No priority for complaint {complaint_id}.")
    return PriorityPublic(
        complaint_id=row.complaint_id,
        priority=row.priority,
        reasons=list(row.reasons),
        appraised_at=row.appraised_at,
        overridden_by=row.overridden_by,
        override_reason=row.override_reason,
    )


async def get_priority(rt: Runtime, complaint_id: str) -> PriorityPublic:
    async with rt.uow() as uow:
        return await priority_of(uow.conn, complaint_id)
