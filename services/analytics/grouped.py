"""Grouped KPIs of a period: whole days and months from the rollup, the rest from the facts.

Counts are exact whatever the size. Percentiles are exact (from complaint_facts) while the
period holds at most `exact_limit` confirmed complaints; above, they come from the rollup's
histograms, within 1% of the exact value.
"""

from collections import defaultdict
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.analytics import periods, queries, sketch
from services.analytics.domain import iso_week, month
from services.analytics.kpis import GROUP_COLUMNS, Durations, Tally
from services.analytics.models import ROLLUP_COUNTS, complaint_facts, kpi_rollup
from services.analytics.rollup import DAY, MONTH

r = kpi_rollup.c
Keyed = dict[str | None, Any]
_OPEN, _CONFIRMED = ROLLUP_COUNTS.index("open"), ROLLUP_COUNTS.index("confirmed")
_BACKLOG = ("under_1d", "b1d_to_3d", "b3d_to_7d", "b7d_to_30d")
# Groupings by time read the rollup's "all" rows and name each day or month by its week/month.
_BY_TIME: dict[str, Callable[[date], str]] = {"week": iso_week, "month": month}


async def grouped_kpis(
    conn: AsyncConnection,
    group_by: str,
    start: datetime | None,
    end: datetime | None,
    as_of: datetime,
    exact_limit: int,
) -> tuple[dict[str | None, Tally], Keyed, Durations, bool]:
    """(tallies by key, durations by key, durations of all, whether those are exact) of the
    complaints in the period."""
    column = GROUP_COLUMNS[group_by]
    parts = periods.split(start, end, months=group_by != "week")
    counts = await _rollup_counts(conn, group_by, parts)
    for key, values in (await queries.raw_counts(conn, column, parts.raw)).items():
        _add(counts, key, values)
    recent = await queries.recent_backlog(conn, column, start, end, as_of)
    tallies = {key: _tally(values, recent.get(key)) for key, values in counts.items()}
    exact = sum(values[_CONFIRMED] for values in counts.values()) <= exact_limit
    if exact:
        times, total = await queries.exact_durations(conn, column, start, end)
    else:
        times, total = await _sketched(conn, group_by, parts)
    return tallies, times, total, exact


def _add(counts: Keyed, key: str | None, values: list[int]) -> None:
    row = counts.get(key)
    counts[key] = values if row is None else [a + b for a, b in zip(row, values, strict=True)]


def _tally(values: list[int], recent: list[int] | None) -> Tally:
    recent = recent or [0] * (len(_BACKLOG) + 1)
    named = dict(zip(ROLLUP_COUNTS[:_OPEN], values, strict=False))
    backlog = dict(zip(_BACKLOG, recent, strict=False))
    return Tally(**named, **backlog, over_30d=values[_OPEN] - sum(recent))


def _where(group_by: str, parts: periods.Split) -> ColumnElement[bool]:
    days = or_(false(), *(and_(r.period >= a, r.period < b) for a, b in parts.days))
    spans = and_(r.grain == DAY, days)
    if parts.months is not None:
        first, last = parts.months
        spans = or_(spans, and_(r.grain == MONTH, r.period >= first, r.period < last))
    return and_(r.dimension == ("all" if group_by in _BY_TIME else group_by), spans)


def _key(group_by: str, row: Any) -> str | None:
    """The group of a rollup row read as (key, period, ...)."""
    name = _BY_TIME.get(group_by)
    if name is not None:
        period = row[1]
        return name(period if isinstance(period, date) else date.fromisoformat(period))
    return row[0] or None


async def _rollup_counts(conn: AsyncConnection, group_by: str, parts: periods.Split) -> Keyed:
    counts: Keyed = {}
    if not parts.days and parts.months is None:
        return counts
    grouping = (r.key, r.period) if group_by in _BY_TIME else (r.key,)
    sums = [func.sum(r[name]) for name in ROLLUP_COUNTS]
    query = select(*grouping, *sums).where(_where(group_by, parts)).group_by(*grouping)
    for row in await conn.execute(query):
        _add(counts, _key(group_by, row), [int(v) for v in row[len(grouping) :]])
    return counts


async def _sketched(
    conn: AsyncConnection, group_by: str, parts: periods.Split
) -> tuple[Keyed, Durations]:
    to_yes, gap = sketch.Merger(), sketch.Merger()
    if parts.days or parts.months is not None:
        query = select(r.key, r.period, r.to_yes, r.gap).where(
            _where(group_by, parts), r.confirmed > 0
        )
        rows = (await conn.execute(query)).all()
        keys = [_key(group_by, row) for row in rows]
        to_yes.add_many(keys, [row[2] for row in rows])
        gap.add_many(keys, [row[3] for row in rows])
    if parts.raw:
        c = complaint_facts.c
        hours: dict[str | None, tuple[list[float], list[float]]] = defaultdict(lambda: ([], []))
        query = select(
            c[GROUP_COLUMNS[group_by]], c.hours_to_confirmation, c.hours_claimed_to_confirmed
        )
        for key, yes, claimed in await conn.execute(
            query.where(queries.within(parts.raw), c.hours_to_confirmation.is_not(None))
        ):
            hours[key][0].append(yes)
            if claimed is not None:
                hours[key][1].append(claimed)
        for key, (yeses, gaps) in hours.items():
            to_yes.add_values(key, yeses)
            gap.add_values(key, gaps)
    (by_key_yes, all_yes), (by_key_gap, all_gap) = (
        to_yes.percentiles([0.5, 0.9]),
        gap.percentiles([0.5]),
    )
    times = {key: Durations(*by_key_yes[key], *by_key_gap.get(key, [None])) for key in by_key_yes}
    return times, Durations(*all_yes, *all_gap)
