"""The case's current owner, followed from case.assigned and case.reassigned.

Only the current owner may attest a customer's answer, so confirmation keeps its own copy.
"""

from datetime import datetime

from sqlalchemy import select, update

from services.confirmation.models import case_owners
from shared.events import CaseAssigned, CaseReassigned, Envelope
from shared.timestamps import as_utc
from shared.uow import UnitOfWork


async def track_owner(uow: UnitOfWork, envelope: Envelope) -> None:
    """Only the case's current owner may attest an answer: follow every (re)assignment."""
    data = envelope.parsed()
    if isinstance(data, CaseAssigned):
        owner = data.owner_id
    else:
        assert isinstance(data, CaseReassigned)
        owner = data.to_owner_id
    await remember(uow, str(envelope.complaint_id), owner, envelope.occurred_at)


async def remember(
    uow: UnitOfWork, complaint_id: str, owner_id: str, at: datetime, only_if_unknown: bool = False
) -> None:
    where = case_owners.c.complaint_id == complaint_id
    known = (await uow.conn.execute(select(case_owners).where(where))).first()
    if known is None:
        values = {"complaint_id": complaint_id, "owner_id": owner_id, "updated_at": at}
        await uow.conn.execute(case_owners.insert().values(**values))
    elif not only_if_unknown and as_utc(known.updated_at) <= as_utc(at):
        # Events may arrive out of order: the later assignment wins.
        await uow.conn.execute(
            update(case_owners).where(where).values(owner_id=owner_id, updated_at=at)
        )
