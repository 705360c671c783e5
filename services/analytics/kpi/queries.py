"""KPI queries on complaint_facts itself: partial days, the recent backlog, exact percentiles."""

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    and_,
    case,
    false,
    func,
    literal,
    or_,
    select,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from services.analytics.kpi import counts as kpi_counts
from services.analytics.kpi.periods import Span
from services.analytics.kpi.rules import Durations, durations
from services.analytics.models import ROLLUP_COUNTS, complaint_facts, task_facts

c = complaint_facts.c
Keyed = dict[str | None, Any]
# Backlog buckets: received within 1, 3, 7 and 30 days of `as_of`, and after it (complaints dated
# in the future); older open complaints are the rest of `open`.
RECENT = (1, 3, 7, 30)


def _count(condition: Any) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0).cast(Integer)


def count_columns(*, tasks: bool = True) -> list[Any]:
    """The ROLLUP_COUNTS of a set of complaints, in that order (tasks=False: no task counts)."""
    return [
        (literal(0) if rule.per_task and not tasks else rule.sql(c)).label(name)
        for name, rule in kpi_counts.RULES
    ]


def within(spans: Sequence[Span]) -> ColumnElement[bool]:
    received = c.received_at
    return or_(false(), *(and_(received >= a, received < b) for a, b in spans))


async def raw_counts(conn: AsyncConnection, column: str, spans: Sequence[Span]) -> Keyed:
    """ROLLUP_COUNTS by key of the complaints received in the spans (a department's tasks are
    counted for their own department, as the rollup does)."""
    if not spans:
        return {}
    key, department = c[column], column == "department"
    query = select(key.label("key"), *count_columns(tasks=not department)).where(within(spans))
    counts = {r[0]: list(r[1:]) for r in await conn.execute(query.group_by(key))}
    if department:
        met, missed = ROLLUP_COUNTS.index("tasks_met"), ROLLUP_COUNTS.index("tasks_missed")
        for task_department, (done, late) in (await department_tasks(conn, spans)).items():
            row = counts.setdefault(task_department, [0] * len(ROLLUP_COUNTS))
            row[met], row[missed] = row[met] + done, row[missed] + late
    return counts


async def department_tasks(conn: AsyncConnection, spans: Sequence[Span]) -> Keyed:
    """(met, missed) tasks by their own department, for the complaints received in the spans."""
    t = task_facts.c
    query = (
        select(
            t.department.label("key"),
            _count(t.met_sla.is_(True)).label("met"),
            _count(t.met_sla.is_(False)).label("missed"),
        )
        .select_from(task_facts.join(complaint_facts, t.complaint_id == c.complaint_id))
        .where(within(spans))
        .group_by(t.department)
    )
    return {r.key: (r.met, r.missed) for r in await conn.execute(query)}


async def open_counts(
    conn: AsyncConnection, column: str, buckets: Sequence[Sequence[Span]]
) -> Keyed:
    """By key, the open complaints received in each bucket's spans (from the index of open
    complaints)."""
    spans = [span for bucket in buckets for span in bucket]
    if not spans:
        return {}
    query = select(c[column].label("key"), *(_count(within(bucket)) for bucket in buckets))
    query = query.where(c.closed_at.is_(None), within(spans)).group_by(c[column])
    return {r[0]: list(r[1:]) for r in await conn.execute(query)}


def _period(query: Select[Any], start: datetime | None, end: datetime | None) -> Select[Any]:
    if start is not None:
        query = query.where(c.received_at >= start)
    if end is not None:
        query = query.where(c.received_at < end)
    return query


async def exact_durations(
    conn: AsyncConnection, column: str, start: datetime | None, end: datetime | None
) -> tuple[Keyed, Durations]:
    """Exact percentiles (linear interpolation) of the confirmed complaints in the period."""
    key = c[column]
    confirmed = c.hours_to_confirmation.is_not(None)
    if conn.dialect.name != "postgresql":
        hours = select(key.label("key"), c.hours_to_confirmation, c.hours_claimed_to_confirmed)
        return _in_python(await conn.execute(_period(hours, start, end).where(confirmed)))
    to_yes, gap = c.hours_to_confirmation, c.hours_claimed_to_confirmed
    query = _period(
        select(
            key.label("key"),
            func.grouping(key).label("is_total"),
            func.percentile_cont(0.5).within_group(to_yes),
            func.percentile_cont(0.9).within_group(to_yes),
            func.percentile_cont(0.5).within_group(gap),
        ),
        start,
        end,
    ).where(confirmed)
    by_key, total = {}, Durations()
    for r in await conn.execute(query.group_by(func.grouping_sets(tuple_(key), tuple_()))):
        values = Durations(*(None if v is None else round(float(v), 2) for v in r[2:]))
        if r.is_total:
            total = values
        else:
            by_key[r.key] = values
    return by_key, total


def _in_python(rows: Any) -> tuple[Keyed, Durations]:
    # SQLite has no percentile_cont; the confirmed complaints' hours are fetched instead.
    to_yes: dict[str | None, list[float]] = defaultdict(list)
    gaps: dict[str | None, list[float]] = defaultdict(list)
    for r in rows:
        to_yes[r.key].append(r.hours_to_confirmation)
        if r.hours_claimed_to_confirmed is not None:
            gaps[r.key].append(r.hours_claimed_to_confirmed)
    by_key = {k: durations(to_yes[k], gaps.get(k, [])) for k in to_yes}
    every = durations(
        [h for hs in to_yes.values() for h in hs], [h for hs in gaps.values() for h in hs]
    )
    return by_key, every
