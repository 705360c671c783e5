"""Split a period into whole months, whole days and the partial days at its ends (UTC).

Whole months and days are read from the KPI rollup; the partial days from complaint_facts.
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 12, 1, tzinfo=UTC)
Span = tuple[datetime, datetime]
Days = tuple[date, date]


@dataclass(frozen=True)
class Split:
    raw: list[Span] = field(default_factory=list)  # [from, to) instants in partial days
    days: list[Days] = field(default_factory=list)  # [first, last) whole days
    months: Days | None = None  # [first, last) whole months, by their first days


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def _next_month(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)


def split(start: datetime | None, end: datetime | None, *, months: bool = True) -> Split:
    start, end = start or EARLIEST, end or LATEST
    if start >= end:
        return Split()
    first_day = start.date() if midnight(start.date()) == start else start.date() + timedelta(1)
    last_day = end.date()
    if first_day >= last_day:
        return Split(raw=[(start, end)])
    raw = [(start, midnight(first_day))] if start < midnight(first_day) else []
    if midnight(last_day) < end:
        raw.append((midnight(last_day), end))
    first_month = first_day if first_day.day == 1 else _next_month(first_day)
    last_month = last_day.replace(day=1)
    if not months or first_month >= last_month:
        return Split(raw, [(first_day, last_day)])
    days = [(a, b) for a, b in ((first_day, first_month), (last_month, last_day)) if a < b]
    return Split(raw, days, (first_month, last_month))
