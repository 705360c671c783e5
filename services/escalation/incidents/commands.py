"""Reading incidents and the supervisor's decisions on them: confirm, dismiss, merge."""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update

from services.escalation.models import incident_complaints, incidents
from shared.errors import Conflict, NotFound
from shared.events import IncidentChanged, new_event
from shared.service import Runtime
from shared.statements import insert
from shared.uow import UnitOfWork

PRODUCER = "escalation"
DECISIONS = {"confirm": ("open",), "dismiss": ("open", "confirmed")}


async def _members(uow: UnitOfWork, incident_id: str) -> list[str]:
    rows = await uow.conn.execute(
        select(incident_complaints.c.complaint_id)
        .where(incident_complaints.c.incident_id == incident_id)
        .order_by(incident_complaints.c.received_at, incident_complaints.c.complaint_id)
    )
    return list(rows.scalars())


def public(row: Any, complaint_ids: list[str] | None = None) -> dict[str, Any]:
    body = {
        "id": row.id,
        "pattern": {"pattern": row.pattern, **row.dims},
        "status": row.status,
        "complaint_count": row.complaint_count,
        "first_at": row.first_at,
        "last_at": row.last_at,
        "merged_into": row.merged_into,
        # Incidents raised before the cross-sectional test existed had only the temporal one.
        "raised_by": row.evidence.get("raised_by") or "temporal",
        "evidence": row.evidence,
        "is": row.spec["is"],
        "is_not": row.spec["is_not"],
        "distinctions": row.spec["distinctions"],
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }
    if complaint_ids is not None:
        body["complaint_ids"] = complaint_ids
    return body


async def load(uow: UnitOfWork, incident_id: str, lock: bool = False) -> Any:
    query = select(incidents).where(incidents.c.id == incident_id)
    row = (await uow.conn.execute(query.with_for_update() if lock else query)).first()
    if row is None:
        raise NotFound("incident_not_found", f"No incident {incident_id}.")
    return row


async def list_incidents(rt: Runtime, status: str | None, limit: int) -> list[dict[str, Any]]:
    async with rt.uow() as uow:
        query = select(incidents).order_by(incidents.c.created_at.desc()).limit(limit)
        if status:
            query = query.where(incidents.c.status == status)
        return [public(row) for row in await uow.conn.execute(query)]


async def get_incident(rt: Runtime, incident_id: str) -> dict[str, Any]:
    async with rt.uow() as uow:
        row = await load(uow, incident_id)
        return public(row, await _members(uow, incident_id))


async def decide(rt: Runtime, incident_id: str, decision: str, by: str) -> dict[str, Any]:
    """Confirm or dismiss; a dismissed incident links no more complaints."""
    async with rt.uow() as uow:
        row = await load(uow, incident_id, lock=True)
        if row.status not in DECISIONS[decision]:
            raise Conflict("incident_not_open", f"Incident {incident_id} is {row.status}.")
        status = "confirmed" if decision == "confirm" else "dismissed"
        await _set(uow, incident_id, status=status)
        _announce(uow, incident_id, status, await _members(uow, incident_id), None)
        await uow.commit()
    return await get_incident(rt, incident_id)


async def merge(rt: Runtime, incident_id: str, into: str) -> dict[str, Any]:
    """Fold one incident into another: its complaints move, it stops linking new ones."""
    if incident_id == into:
        raise Conflict("incident_merge_self", "An incident cannot be merged into itself.")
    async with rt.uow() as uow:
        source = await load(uow, incident_id, lock=True)
        target = await load(uow, into, lock=True)
        for row, name in ((source, "incident_not_open"), (target, "merge_target_not_open")):
            if row.status not in ("open", "confirmed"):
                raise Conflict(name, f"Incident {row.id} is {row.status}.")
        moved = []
        for complaint_id in await _members(uow, incident_id):
            received_at = await uow.conn.scalar(
                select(incident_complaints.c.received_at).where(
                    incident_complaints.c.incident_id == incident_id,
                    incident_complaints.c.complaint_id == complaint_id,
                )
            )
            stored = await uow.conn.execute(
                insert(uow.conn, incident_complaints)
                .values(incident_id=into, complaint_id=complaint_id, received_at=received_at)
                .on_conflict_do_nothing()
            )
            if stored.rowcount:
                moved.append(complaint_id)
        await _set(uow, incident_id, status="merged", merged_into=into)
        await _set(
            uow,
            into,
            complaint_count=target.complaint_count + len(moved),
            first_at=min(source.first_at, target.first_at),
            last_at=max(source.last_at, target.last_at),
        )
        _announce(uow, incident_id, "merged", await _members(uow, incident_id), into)
        _announce(uow, into, target.status, moved, None)
        await uow.commit()
    return await get_incident(rt, into)


async def _set(uow: UnitOfWork, incident_id: str, **values: Any) -> None:
    await uow.conn.execute(
        update(incidents)
        .where(incidents.c.id == incident_id)
        .values(**values, updated_at=datetime.now(UTC))
    )


def _announce(
    uow: UnitOfWork, incident_id: str, status: str, ids: list[str], merged_into: str | None
) -> None:
    changed = IncidentChanged(
        incident_id=incident_id, status=status, complaint_ids=ids, merged_into=merged_into
    )
    uow.emit(new_event("incident.updated", changed, producer=PRODUCER, complaint_id=None))
