"""KPI queries: SQL aggregation over indexed complaint_facts (percentiles in SQL on PostgreSQL)."""

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Integer, Select, and_, case, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from services.analytics.kpis import Durations, Tally, durations
from services.analytics.models import complaint_facts, task_facts

c = complaint_facts.c


def _count(condition: Any) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0).cast(Integer)


def _sum(column: Any) -> ColumnElement[int]:
    return func.coalesce(func.sum(column), 0).cast(Integer)


def _period(query: Select[Any], start: datetime | None, end: datetime | None) -> Select[Any]:
    query = query.where(c.received_at.is_not(None))
    if start is not None:
        query = query.where(c.received_at >= start)
    if end is not None:
        query = query.where(c.received_at < end)
    return query


def _tally_columns(as_of: datetime) -> list[Any]:
    closed, open_ = c.closed_at.is_not(None), c.closed_at.is_(None)
    proposed = c.first_proposed_at.is_not(None)
    age = [as_of - timedelta(days=d) for d in (1, 3, 7, 30)]
    waiting = and_(open_, c.received_at < as_of)
    return [
        func.count().label("received"),
        _count(closed).label("closed_confirmed"),
        _sum(c.rejections).label("rejected_resolutions"),
        _count(and_(proposed, c.reopen_count > 0)).label("reopened"),
        _count(proposed).label("proposed"),
        _sum(c.resolved_proposals).label("resolved_proposals"),
        _sum(c.resolved_rejected).label("resolved_rejected"),
        _count(c.audit_outcome.is_not(None)).label("audited"),
        _count(c.audit_outcome == "failed").label("audit_failed"),
        _count(and_(closed, c.attested.is_(True))).label("attested"),
        _count(and_(closed, c.outcome == "cannot_fulfil")).label("cannot_fulfil"),
        _count(c.first_contact_resolution.is_(True)).label("first_contact"),
        _sum(c.tasks_met).label("tasks_met"),
        _sum(c.tasks_missed).label("tasks_missed"),
        _count(c.due_at.is_not(None)).label("with_due"),
        _count(c.resolved_on_time.is_(True)).label("resolved_on_time"),
        _count(c.confirmed_on_time.is_(True)).label("confirmed_on_time"),
        _count(and_(waiting, c.received_at >= age[0])).label("under_1d"),
        _count(and_(waiting, c.received_at < age[0], c.received_at >= age[1])).label("b1d_to_3d"),
        _count(and_(waiting, c.received_at < age[1], c.received_at >= age[2])).label("b3d_to_7d"),
        _count(and_(waiting, c.received_at < age[2], c.received_at >= age[3])).label("b7d_to_30d"),
        _count(and_(waiting, c.received_at < age[3])).label("over_30d"),
    ]


def _percentiles() -> list[Any]:
    to_yes, gap = c.hours_to_confirmation, c.hours_claimed_to_confirmed
    return [
        func.percentile_cont(0.5).within_group(to_yes).label("median_hours_to_confirmation"),
        func.percentile_cont(0.9).within_group(to_yes).label("p90_hours_to_confirmation"),
        func.percentile_cont(0.5).within_group(gap).label("median_hours_claimed_to_confirmed"),
    ]


def _durations(row: Any) -> Durations:
    def rounded(value: Any) -> float | None:
        return None if value is None else round(float(value), 2)

    return Durations(*(rounded(getattr(row, f)) for f in Durations.__dataclass_fields__))


Keyed = dict[str | None, Any]


async def complaint_kpis(
    conn: AsyncConnection,
    column: str,
    start: datetime | None,
    end: datetime | None,
    as_of: datetime,
) -> tuple[Keyed, Keyed, Durations]:
    """(tallies by key, durations by key, durations of all) of the complaints in the period."""
    key = c[column]
    tally_fields = set(Tally.__dataclass_fields__)
    tallies: Keyed = {}
    times: Keyed = {}
    if conn.dialect.name != "postgresql":
        query = _period(select(key.label("key"), *_tally_columns(as_of)), start, end)
        for r in await conn.execute(query.group_by(key)):
            tallies[r.key] = Tally(**{k: v for k, v in r._asdict().items() if k in tally_fields})
        return tallies, *await _durations_in_python(conn, key, start, end)
    # One scan gives the groups and the totals (percentiles are not additive); the sorts for the
    # percentiles stay in memory rather than spill to disk.
    await conn.exec_driver_sql("SET LOCAL work_mem = '64MB'")
    total = Durations()
    query = _period(
        select(
            key.label("key"),
            func.grouping(key).label("is_total"),
            *_tally_columns(as_of),
            *_percentiles(),
        ),
        start,
        end,
    ).group_by(func.grouping_sets(tuple_(key), tuple_()))
    for r in await conn.execute(query):
        if r.is_total:
            total = _durations(r)
            continue
        tallies[r.key] = Tally(**{k: v for k, v in r._asdict().items() if k in tally_fields})
        times[r.key] = _durations(r)
    return tallies, times, total


async def _durations_in_python(
    conn: AsyncConnection, key: Any, start: datetime | None, end: datetime | None
) -> tuple[Keyed, Durations]:
    # SQLite has no percentile_cont; the confirmed complaints' hours are fetched instead.
    hours = select(key.label("key"), c.hours_to_confirmation, c.hours_claimed_to_confirmed)
    to_yes: dict[str | None, list[float]] = defaultdict(list)
    gaps: dict[str | None, list[float]] = defaultdict(list)
    for r in await conn.execute(_period(hours, start, end).where(c.confirmed_at.is_not(None))):
        to_yes[r.key].append(r.hours_to_confirmation)
        if r.hours_claimed_to_confirmed is not None:
            gaps[r.key].append(r.hours_claimed_to_confirmed)
    by_key = {k: durations(to_yes[k], gaps.get(k, [])) for k in to_yes}
    every = durations(
        [h for hs in to_yes.values() for h in hs], [h for hs in gaps.values() for h in hs]
    )
    return by_key, every


async def department_compliance(
    conn: AsyncConnection, start: datetime | None, end: datetime | None
) -> Keyed:
    """(met, missed) tasks by their own department, for the complaints received in the period."""
    t = task_facts.c
    key = t.department
    query = _period(
        select(
            key.label("key"),
            _count(t.met_sla.is_(True)).label("met"),
            _count(t.met_sla.is_(False)).label("missed"),
        ).select_from(task_facts.join(complaint_facts, t.complaint_id == c.complaint_id)),
        start,
        end,
    ).group_by(key)
    return {r.key: (r.met, r.missed) for r in await conn.execute(query)}
