"""Hand-over of every open case of an owner who goes away: explicit, with a reason, on the timeline.

Each case goes to the best available owner of its team by the assignment rules, else to the
team lead; the owner who left is never chosen, so no case waits for someone who is not there.
"""

from sqlalchemy import select, update

from services.ownership import organisation_store
from services.ownership.admin_schemas import HandOver
from services.ownership.domain import OPEN, Needs, normalise_key, pick_owner
from services.ownership.models import cases
from services.ownership.repository import append, now, take_case
from shared.events import CaseReassigned, new_event
from shared.uow import UnitOfWork

PRODUCER = "ownership"


async def hand_over_all(uow: UnitOfWork, owner_id: str, reason: str, by: str) -> list[HandOver]:
    """Move each open case of `owner_id`; the caller commits with the change that caused it."""
    conn = uow.conn
    open_ids = list(
        await conn.scalars(
            select(cases.c.id)
            .where(cases.c.owner_id == owner_id, cases.c.status.in_([s.value for s in OPEN]))
            .order_by(cases.c.created_at, cases.c.id)
        )
    )
    moved: list[HandOver] = []
    for case_id in open_ids:
        case = await take_case(conn, case_id)
        pool, lead = await organisation_store.candidates(conn, case.team_id)
        pool = [c for c in pool if c.owner_id != owner_id]
        topics = frozenset(normalise_key(k) for k in (case.category, case.product) if k)
        to_owner, rule = pick_owner(pool, lead, Needs(topics, case.language))
        if to_owner == owner_id:
            # The lead going away with nobody to take over: the case stays owned, and says so.
            await append(conn, case_id, "handover_impossible", by, {"reason": reason})
            continue
        await conn.execute(
            update(cases)
            .where(cases.c.id == case_id, cases.c.owner_id == owner_id)
            .values(owner_id=to_owner, updated_at=now())
        )
        detail = {"from_owner_id": owner_id, "to_owner_id": to_owner, "reason": reason}
        await append(conn, case_id, "reassigned", by, {**detail, "rule": rule})
        data = CaseReassigned(
            from_owner_id=owner_id,
            to_owner_id=to_owner,
            reason=reason,
            due_at=case.due_at,
            team=case.team_id,
        )
        uow.emit(new_event("case.reassigned", data, producer=PRODUCER, complaint_id=case_id))
        moved.append(HandOver(case_id=case_id, to_owner_id=to_owner))
    return moved
