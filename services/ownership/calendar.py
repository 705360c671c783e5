"""Business-hours calendars: working windows per weekday in a time zone, minus holidays.

Pure functions, no I/O. Arithmetic walks the windows in UTC, so a day on which the clocks
change still counts its real working time, and a result always lies inside a working window.
"""

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# A calendar whose windows are all empty would never end a search; ten years is far beyond any
# SLA target, so running out means the calendar is unusable, not that the target is long.
SEARCH_DAYS = 3660


class CalendarError(ValueError):
    pass


@dataclass(frozen=True)
class Calendar:
    timezone: str = "UTC"
    # Minutes after local midnight per weekday (0 = Monday); the end may be 1440 (midnight).
    windows: Mapping[int, tuple[int, int]] = field(
        default_factory=lambda: {d: (0, 1440) for d in range(7)}
    )
    holidays: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        for day, (start, end) in self.windows.items():
            if not (0 <= day <= 6 and 0 <= start < end <= 1440):
                raise CalendarError(f"bad working window {start}-{end} on day {day}")
        if not self.windows:
            raise CalendarError("a calendar needs at least one working day")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


ALWAYS = Calendar()


def parse_window(text: str) -> tuple[int, int]:
    """'09:00-17:30' → minutes after midnight; '24:00' ends a window at midnight."""
    try:
        start, end = (_minutes(part) for part in text.split("-"))
    except ValueError as exc:
        raise CalendarError(f"working hours {text!r} are not HH:MM-HH:MM") from exc
    if not 0 <= start < end <= 1440:
        raise CalendarError(f"working hours {text!r} must start before they end")
    return start, end


def _minutes(part: str) -> int:
    hours, minutes = part.strip().split(":")
    if len(minutes) != 2 or not 0 <= int(minutes) < 60:
        raise ValueError(part)
    return int(hours) * 60 + int(minutes)


def _windows(cal: Calendar, start_day: date) -> Iterator[tuple[datetime, datetime]]:
    """Working windows in UTC from the local day `start_day` on, in order."""
    zone = cal.zone
    for offset in range(SEARCH_DAYS):
        day = start_day + timedelta(days=offset)
        window = cal.windows.get(day.weekday())
        if window is None or day in cal.holidays:
            continue
        midnight = datetime.combine(day, time(0), tzinfo=zone)
        # Wall-clock addition: 09:00 is 09:00 local whatever the offset that day.
        opens, closes = (_wall(midnight, m) for m in window)
        yield opens.astimezone(UTC), closes.astimezone(UTC)
    raise CalendarError(f"no working time within {SEARCH_DAYS} days")


def _wall(midnight: datetime, minutes: int) -> datetime:
    if minutes == 1440:
        return datetime.combine(
            midnight.date() + timedelta(days=1), time(0), tzinfo=midnight.tzinfo
        )
    return midnight + timedelta(minutes=minutes)


def add_business_time(start: datetime, amount: timedelta, cal: Calendar) -> datetime:
    """The instant `amount` of working time after `start` (moved into working time first)."""
    if amount < timedelta(0):
        raise CalendarError("business time cannot be negative")
    cursor = _utc(start)
    remaining = amount
    first_day = cursor.astimezone(cal.zone).date() - timedelta(days=1)
    for opens, closes in _windows(cal, first_day):
        if closes < cursor:
            continue
        begin = max(cursor, opens)
        available = closes - begin
        if remaining <= available:
            return begin + remaining
        remaining -= available
        cursor = closes
    raise CalendarError("unreachable")  # pragma: no cover - _windows raises first


def add_business_hours(start: datetime, hours: float, cal: Calendar) -> datetime:
    return add_business_time(start, timedelta(hours=hours), cal)


def working_day_closes(start: datetime, days: int, cal: Calendar) -> datetime:
    """The close of the `days`-th working day after the (local) day of `start`."""
    if days < 1:
        raise CalendarError("count at least one working day")
    day_of_start = _utc(start).astimezone(cal.zone).date()
    for count, (_, closes) in enumerate(_windows(cal, day_of_start + timedelta(days=1)), 1):
        if count == days:
            return closes
    raise CalendarError("unreachable")  # pragma: no cover - _windows raises first


def business_time_between(start: datetime, end: datetime, cal: Calendar) -> timedelta:
    """Working time in [start, end): the inverse of add_business_time."""
    start, end = _utc(start), _utc(end)
    total = timedelta(0)
    if end <= start:
        return total
    for opens, closes in _windows(cal, start.astimezone(cal.zone).date() - timedelta(days=1)):
        if opens >= end:
            return total
        overlap = min(closes, end) - max(opens, start)
        if overlap > timedelta(0):
            total += overlap
    raise CalendarError("unreachable")  # pragma: no cover


def is_working(instant: datetime, cal: Calendar) -> bool:
    """Inside a working window, its closing instant included."""
    instant = _utc(instant)
    for opens, closes in _windows(cal, instant.astimezone(cal.zone).date() - timedelta(days=1)):
        if opens > instant:
            return False
        if instant <= closes:
            return True
    return False  # pragma: no cover


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise CalendarError("business-hours arithmetic needs timezone-aware instants")
    return value.astimezone(UTC)
