"""Analytics use cases: fold any event into the read model, report KPIs."""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Integer, Select, and_, case, func, select
from sqlalchemy.dialects import postgresql, sqlite

from services.analytics import domain, kpis
from services.analytics.models import complaint_facts, fact_events
from services.analytics.schemas import KpiReport
from shared.errors import DomainError
from shared.events import Envelope
from shared.service import Runtime
from shared.uow import UnitOfWork


async def record_event(uow: UnitOfWork, envelope: Envelope) -> None:
    """Keep the event's non-personal attributes and recompute its complaint's facts."""
    complaint_id = envelope.complaint_id
    if complaint_id is None:
        return
    attributes = domain.event_attributes(envelope)
    insert = postgresql.insert if uow.conn.dialect.name == "postgresql" else sqlite.insert
    now = datetime.now(UTC)
    # Touching the row first locks it, so two events of one complaint handled at the same time
    # recompute one after the other and the second sees the first's event.
    await uow.conn.execute(
        insert(complaint_facts)
        .values(complaint_id=complaint_id, rejections=0, reopen_count=0, updated_at=now)
        .on_conflict_do_update(index_elements=["complaint_id"], set_={"updated_at": now})
    )
    await uow.conn.execute(
        insert(fact_events)
        .values(
            event_id=envelope.event_id,
            complaint_id=complaint_id,
            type=envelope.type,
            occurred_at=domain.as_utc(envelope.occurred_at),
            attributes=attributes,
        )
        .on_conflict_do_nothing()
    )
    rows = await uow.conn.execute(
        select(fact_events).where(fact_events.c.complaint_id == complaint_id)
    )
    facts = domain.project(
        domain.FactEvent(r.event_id, r.type, r.occurred_at, dict(r.attributes)) for r in rows
    )
    await uow.conn.execute(
        complaint_facts.update()
        .where(complaint_facts.c.complaint_id == complaint_id)
        .values(**facts, updated_at=now)
    )


def _period(query: Select[Any], start: datetime | None, end: datetime | None) -> Select[Any]:
    received_at = complaint_facts.c.received_at
    query = query.where(received_at.is_not(None))
    if start is not None:
        query = query.where(received_at >= start)
    if end is not None:
        query = query.where(received_at < end)
    return query


def _count(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0).cast(Integer)


async def kpi_report(
    rt: Runtime, start: datetime | None, end: datetime | None, group_by: str
) -> KpiReport:
    """KPIs of the complaints received in [start, end), grouped by one dimension."""
    column_name = kpis.GROUP_COLUMNS.get(group_by)
    if column_name is None:
        raise DomainError(
            "invalid_group_by",
            f"Cannot group by {group_by!r}.",
            422,
            allowed=sorted(kpis.GROUP_COLUMNS),
        )
    start, end = (domain.as_utc(t) if t else None for t in (start, end))
    if start and end and start >= end:
        raise DomainError("invalid_period", "`from` must be before `to`.", 422)
    c, key = complaint_facts.c, complaint_facts.c[column_name]
    proposed = c.first_proposed_at.is_not(None)
    counts = _period(
        select(
            key.label("key"),
            func.count().label("received"),
            _count(c.closed_at.is_not(None)).label("closed_confirmed"),
            func.coalesce(func.sum(c.rejections), 0).cast(Integer).label("rejected_resolutions"),
            _count(and_(proposed, c.reopen_count > 0)).label("reopened"),
            _count(proposed).label("proposed"),
        ),
        start,
        end,
    ).group_by(key)
    confirmed = _period(select(key.label("key"), c.received_at, c.confirmed_at), start, end).where(
        c.confirmed_at.is_not(None)
    )
    async with rt.uow() as uow:
        tallies = {
            r.key: kpis.Tally(**{k: v for k, v in r._asdict().items() if k != "key"})
            for r in await uow.conn.execute(counts)
        }
        hours: dict[str | None, list[float]] = {}
        for r in await uow.conn.execute(confirmed):
            hours.setdefault(r.key, []).append(
                kpis.hours_between(domain.as_utc(r.received_at), domain.as_utc(r.confirmed_at))
            )
    groups, totals = kpis.report(tallies, hours)
    return KpiReport.model_validate(
        {
            "from": start,
            "to": end,
            "group_by": group_by,
            "groups": groups,
            "totals": totals,
            "definitions": kpis.DEFINITIONS,
        }
    )
