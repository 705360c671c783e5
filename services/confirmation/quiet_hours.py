"""Quiet hours: no text message wakes a customer at night in their own time zone. No I/O.

The customer's time zone is read from their number (its country and, where the numbering plan
says, its area). A number whose zones differ (an Australian mobile spans several) gets the
hours that are daytime in all of them; should there be none within a day, its first zone.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import timezone as number_zones

# The messages that may wait; the acknowledgement answers the customer's own message.
HOLDABLE = frozenset({"reminder", "request", "final_response", "message", "survey"})
STEP = timedelta(minutes=15)
HORIZON = timedelta(hours=24)


@dataclass(frozen=True)
class QuietHours:
    start_hour: int  # local hour the quiet begins (21: from 21:00)
    end_hour: int  # local hour it ends (8: until 08:00)
    default_zone: str = "UTC"
    kinds: frozenset[str] = frozenset({"reminder"})  # which messages wait (HOLDABLE)

    def quiet_at(self, local: datetime) -> bool:
        hour = local.hour + local.minute / 60
        if self.start_hour == self.end_hour:
            return False
        if self.start_hour > self.end_hour:  # over midnight
            return hour >= self.start_hour or hour < self.end_hour
        return self.start_hour <= hour < self.end_hour


@lru_cache(maxsize=4096)
def zones_of(number: str, default_zone: str = "UTC") -> tuple[ZoneInfo, ...]:
    """The time zones a number is in; the default zone when the numbering plan knows none."""
    try:
        names: Sequence[str] = number_zones.time_zones_for_number(phonenumbers.parse(number))
    except phonenumbers.NumberParseException:
        names = ()
    zones = []
    for name in names:
        try:
            zones.append(ZoneInfo(name))
        except (ZoneInfoNotFoundError, ValueError):
            continue
    return tuple(zones) or (ZoneInfo(default_zone),)


def send_after(rules: QuietHours, number: str, now: datetime) -> datetime | None:
    """When a text to `number` may go, if not now (its local time is within quiet hours)."""
    zones = zones_of(number, rules.default_zone)
    if not any(rules.quiet_at(now.astimezone(z)) for z in zones):
        return None
    for candidates in (zones, zones[:1]):
        moment = _first_awake(rules, candidates, now)
        if moment is not None:
            return moment
    return None


def _first_awake(rules: QuietHours, zones: Sequence[ZoneInfo], now: datetime) -> datetime | None:
    # From the next quarter hour on: the quiet ends on the hour, so this lands on it.
    moment = now.replace(second=0, microsecond=0)
    moment += timedelta(minutes=-(moment.minute % 15)) + STEP
    while moment - now <= HORIZON:
        if not any(rules.quiet_at(moment.astimezone(z)) for z in zones):
            return moment
        moment += STEP
    return None
