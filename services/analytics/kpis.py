"""KPI rules, measured from the customer's side; the database does the counting, these the rest."""

import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

# API name of each grouping → complaint_facts column.
GROUP_COLUMNS = {
    "channel": "channel",
    "category": "category",
    "product": "product",
    "region": "region",
    "priority": "priority",
    "team": "team",
    "owner": "owner_id",
}

DEFINITIONS = {
    "received": "Complaints received in the period.",
    "closed_confirmed": (
        "Complaints received in the period that are closed, which happens only when the customer"
        " said yes on the channel they complained on."
    ),
    "rejected_resolutions": (
        "Times the customer answered no to a proposed resolution, over complaints received in the"
        " period."
    ),
    "reopen_rate": (
        "Complaints reopened at least once divided by complaints that had at least one resolution"
        " proposal; null when none had a proposal."
    ),
    "median_hours_to_confirmation": (
        "Median hours from receipt to the customer's confirmation, over confirmed complaints;"
        " null when none is confirmed."
    ),
}


@dataclass(frozen=True)
class Tally:
    """Counts of one group; additive, so totals are the sum of the groups."""

    received: int = 0
    closed_confirmed: int = 0
    rejected_resolutions: int = 0
    reopened: int = 0
    proposed: int = 0

    def __add__(self, other: "Tally") -> "Tally":
        return Tally(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))


def hours_between(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 3600


def ratio(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def median_hours(hours: Iterable[float]) -> float | None:
    values = list(hours)
    return round(statistics.median(values), 2) if values else None


def metrics(tally: Tally, hours: Iterable[float]) -> dict[str, Any]:
    return {
        "received": tally.received,
        "closed_confirmed": tally.closed_confirmed,
        "rejected_resolutions": tally.rejected_resolutions,
        "reopen_rate": ratio(tally.reopened, tally.proposed),
        "median_hours_to_confirmation": median_hours(hours),
    }


def report(
    tallies: Mapping[str | None, Tally], hours: Mapping[str | None, list[float]]
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """(one metrics row per group key, sorted with the unknown key last; the totals)."""
    keys = sorted(tallies, key=lambda k: (k is None, k or ""))
    groups = [{"key": k, **metrics(tallies[k], hours.get(k, []))} for k in keys]
    total = sum(tallies.values(), Tally())
    return groups, metrics(total, [h for values in hours.values() for h in values])
