"""Grouped KPIs of a period: whole days and months from the rollup, the rest from the facts.

Counts are exact whatever the size. Percentiles are exact (from complaint_facts) while the
period holds at most `exact_limit` confirmed complaints; above, they come from the rollup's
histograms, within 1% of the exact value. The backlog buckets (open complaints received in the
last 30 days) come from the rollup's day rows, and from complaint_facts for partial days.
"""

import itertools
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Date, bindparam, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.analytics import bulk_statements
from services.analytics.domain import iso_week, month
from services.analytics.kpi import periods, sketch
from services.analytics.kpi import queries as kpi_queries
from services.analytics.kpi.rollup import DAY, MONTH
from services.analytics.kpi.rules import GROUP_COLUMNS, Durations, Tally
from services.analytics.models import ROLLUP_COUNTS, complaint_facts

Keyed = dict[str | None, Any]
Span = tuple[str, date, date]  # the rollup rows of a grain whose periods are in [first, last)
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
    spans = [(DAY, first, last) for first, last in parts.days]
    if parts.months is not None:
        spans.append((MONTH, *parts.months))
    counts = await _rollup_counts(conn, group_by, spans)
    for key, values in (await kpi_queries.raw_counts(conn, column, parts.raw)).items():
        _add(counts, key, values)
    recent = await _backlog(conn, group_by, start, end, as_of)
    tallies = {key: _tally(values, recent.get(key)) for key, values in counts.items()}
    exact = sum(values[_CONFIRMED] for values in counts.values()) <= exact_limit
    if exact:
        times, total = await kpi_queries.exact_durations(conn, column, start, end)
    else:
        times, total = await _sketched(conn, group_by, spans, parts.raw)
    return tallies, times, total, exact


def _add(counts: Keyed, key: str | None, values: list[int]) -> None:
    row = counts.get(key)
    counts[key] = values if row is None else [a + b for a, b in zip(row, values, strict=True)]


def _tally(values: list[int], recent: list[int] | None) -> Tally:
    recent = recent or [0] * (len(_BACKLOG) + 1)
    named = dict(zip(ROLLUP_COUNTS, values, strict=True))
    backlog = dict(zip(_BACKLOG, recent[: len(_BACKLOG)], strict=True))
    return Tally(**named, **backlog, over_30d=values[_OPEN] - sum(recent))


class _Read:
    """A read of the rollup written as SQL: run by asyncpg itself on PostgreSQL, through
    SQLAlchemy elsewhere (SQLite). For a year by owner, SQLAlchemy's handling of statements and
    rows added ~5 ms to the counts and ~10 ms to the histograms (4,800 rows, 6 MB)."""

    def __init__(self, conn: AsyncConnection, group_by: str) -> None:
        self.conn, self.group_by = conn, group_by
        self.fast = conn.dialect.driver == "asyncpg"
        self.values: list[Any] = []
        self.by_time = _BY_TIME.get(group_by)
        self.name = "period" if self.by_time else "key"  # the column naming a row's group

    def param(self, value: Any) -> str:
        """The placeholder of one more parameter."""
        self.values.append(value)
        return f"${len(self.values)}" if self.fast else f":p{len(self.values)}"

    def within(self, spans: Sequence[Span]) -> str:
        """A condition: the row is in one of the spans."""
        p = self.param
        ranges = [f"(grain = {p(g)} AND period >= {p(a)} AND period < {p(b)})" for g, a, b in spans]
        return f"({' OR '.join(ranges)})" if ranges else "1 = 0"

    def rows(self, spans: Sequence[Span]) -> str:
        """FROM and WHERE of the group's rollup rows in the spans."""
        dimension = "all" if self.by_time else self.group_by
        return f"FROM kpi_rollup WHERE dimension = {self.param(dimension)} AND {self.within(spans)}"

    async def fetch(self, sql: str) -> tuple[list[str | None], Sequence[Any]]:
        """The rows of a statement whose first column is `name`, and the group of each."""
        if self.fast:
            rows: Sequence[Any] = await bulk_statements.fetch(self.conn, sql, *self.values)
        else:
            parameters = (
                bindparam(f"p{n}", v, Date() if isinstance(v, date) else None)
                for n, v in enumerate(self.values, 1)
            )
            rows = (await self.conn.execute(text(sql).bindparams(*parameters))).all()
        if self.by_time is None:  # the rollup keeps unknown keys as ""
            return [row[0] or None for row in rows], rows
        return [self.by_time(_as_date(row[0])) for row in rows], rows


def _as_date(period: date | str) -> date:
    return period if isinstance(period, date) else date.fromisoformat(period)  # SQLite: text


async def _rollup_counts(conn: AsyncConnection, group_by: str, spans: list[Span]) -> Keyed:
    counts: Keyed = {}
    if spans:
        read = _Read(conn, group_by)
        sums = ", ".join(f"sum({name})" for name in ROLLUP_COUNTS)
        sql = f"SELECT {read.name}, {sums} {read.rows(spans)} GROUP BY {read.name}"
        for group, row in zip(*await read.fetch(sql), strict=True):
            _add(counts, group, list(row[1:]))
    return counts


async def _backlog(
    conn: AsyncConnection,
    group_by: str,
    start: datetime | None,
    end: datetime | None,
    as_of: datetime,
) -> Keyed:
    """By group, the open complaints of the period received under 1, 1-3, 3-7 and 7-30 days
    before `as_of`, and after it: whole days from the rollup's `open` counts, partial days (none
    when the bounds are midnights) from complaint_facts. Reading the 30 days from complaint_facts
    visited ~11,000 heap pages, 40 ms of every grouping's request at 1M complaints.
    """
    first, last = start or periods.EARLIEST, end or periods.LATEST
    edges = [as_of - timedelta(days=d) for d in kpi_queries.RECENT]
    bounds = [(edges[0], as_of), *((b, a) for a, b in itertools.pairwise(edges)), (as_of, last)]
    # Weeks are named by their days: no month rows for them (nor for months: few rows anyway).
    by_time = group_by in _BY_TIME
    splits = [periods.split(max(a, first), min(b, last), months=not by_time) for a, b in bounds]
    signed = [[(1, (DAY, a, b)) for a, b in s.days] if by_time else _signed(s) for s in splits]
    backlog: Keyed = {}
    if any(signed):
        read = _Read(conn, group_by)
        sums = ", ".join(
            f"sum(CASE WHEN {read.within([s for n, s in spans if n > 0])} THEN open"
            f" WHEN {read.within([s for n, s in spans if n < 0])} THEN -open ELSE 0 END)"
            for spans in signed
        )
        rows = read.rows(list(dict.fromkeys(s for spans in signed for _, s in spans)))
        sql = f"SELECT {read.name}, {sums} {rows} AND open > 0 GROUP BY {read.name}"
        for group, row in zip(*await read.fetch(sql), strict=True):
            _add(backlog, group, list(row[1:]))
    raw = await kpi_queries.open_counts(conn, GROUP_COLUMNS[group_by], [s.raw for s in splits])
    for key, values in raw.items():
        _add(backlog, key, values)
    return backlog


def _signed(split: periods.Split) -> list[tuple[int, Span]]:
    """A split's whole days and months as rollup spans to add (1) or subtract (-1). Days that
    cover most of their month are read as its month row minus its other days: the 7-30 days
    bucket of a group then reads ~9 rollup rows instead of 23."""
    spans: list[tuple[int, Span]] = []
    if split.months is not None:
        spans.append((1, (MONTH, *split.months)))
    for first, last in split.days:  # at most two months apart, as `split` leaves them
        while first < last:
            start = first.replace(day=1)
            following = (start + timedelta(days=32)).replace(day=1)
            end = min(last, following)
            if 2 * (end - first).days > (following - start).days + 1:
                spans.append((1, (MONTH, start, following)))
                spans += [(-1, (DAY, a, b)) for a, b in ((start, first), (end, following)) if a < b]
            else:
                spans.append((1, (DAY, first, end)))
            first = end
    return spans


async def _sketched(
    conn: AsyncConnection, group_by: str, spans: list[Span], raw: list[periods.Span]
) -> tuple[Keyed, Durations]:
    to_yes, gap = sketch.Merger(), sketch.Merger()
    if spans:
        read = _Read(conn, group_by)
        sql = f"SELECT {read.name}, to_yes, gap {read.rows(spans)} AND confirmed > 0"
        groups, rows = await read.fetch(sql)
        to_yes.add_many(groups, [row[1] for row in rows])
        gap.add_many(groups, [row[2] for row in rows])
    if raw:
        c = complaint_facts.c
        hours: dict[str | None, tuple[list[float], list[float]]] = defaultdict(lambda: ([], []))
        query = select(
            c[GROUP_COLUMNS[group_by]], c.hours_to_confirmation, c.hours_claimed_to_confirmed
        )
        for key, yes, claimed in await conn.execute(
            query.where(kpi_queries.within(raw), c.hours_to_confirmation.is_not(None))
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
