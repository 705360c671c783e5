"""KPI rules, measured from the customer's side beside the department's; the database counts."""

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from services.analytics.kpi.counts import KpiCounts

# API name of each grouping → complaint_facts column (department: the first task's department,
# except for department_sla_compliance, which groups each task by its own department).
GROUP_COLUMNS = {
    "channel": "channel",
    "category": "category",
    "product": "product",
    "region": "region",
    "priority": "priority",
    "team": "team",
    "owner": "owner_id",
    "department": "department",
    "week": "received_week",
    "month": "received_month",
}
_PRECISION = (
    " Exact while the period holds at most KPI_EXACT_LIMIT (default 20,000) confirmed complaints;"
    " above, read from the daily and monthly histograms, within 1% of the exact value."
)
BACKLOG_BUCKETS = {"under_1d": 1, "1d_to_3d": 3, "3d_to_7d": 7, "7d_to_30d": 30, "over_30d": None}

DEFINITIONS = {
    "received": "Complaints received in the period (every other metric is over these complaints).",
    "closed_confirmed": (
        "Complaints closed, which happens only when the customer said yes on the channel they"
        " complained on."
    ),
    "rejected_resolutions": "Times the customer answered no to a proposed resolution.",
    "reopen_rate": (
        "Complaints reopened at least once divided by complaints with at least one resolution"
        " proposal; null when none had a proposal."
    ),
    "median_hours_to_confirmation": (
        "Median hours from receipt to the customer's yes, over confirmed complaints; null when"
        " none is confirmed." + _PRECISION
    ),
    "p90_hours_to_confirmation": (
        "90th percentile (linear interpolation) of the hours from receipt to the customer's yes."
        + _PRECISION
    ),
    "median_hours_claimed_to_confirmed": (
        "The claimed-versus-confirmed gap: median hours from the first proposal marked resolved"
        " to the customer's yes, over complaints with both." + _PRECISION
    ),
    "resolved_rejected_share": (
        "Customer rejections of proposals marked resolved divided by the proposals marked"
        " resolved (a no answers the latest proposal before it)."
    ),
    "audit_failure_rate": (
        "Audited complaints whose latest independent audit failed divided by audited complaints."
    ),
    "attested_share": (
        "Closed complaints whose yes was attested by the owner (phone, walk-in, letter) divided"
        " by closed complaints."
    ),
    "cannot_fulfil_share": (
        "Closed complaints whose accepted outcome was cannot_fulfil divided by closed complaints."
    ),
    "first_contact_resolution_rate": (
        "Closed complaints closed on their first proposal, never reopened and without any"
        " department task, divided by closed complaints."
    ),
    "department_sla_compliance": (
        "Department tasks completed by their due time and never breached divided by tasks"
        " completed or breached; grouped by department, each task counts for its own department."
    ),
    "marked_resolved": (
        "Department-side view: complaints the owner marked done (at least one resolution proposal)."
    ),
    "resolved_on_time_share": (
        "Department-side view: complaints whose first proposal came by the case due time, divided"
        " by complaints with a due time."
    ),
    "confirmed_on_time_share": (
        "Customer-side counterpart: complaints whose customer said yes by the case due time,"
        " divided by complaints with a due time."
    ),
    "satisfaction_answers": (
        "Complaints whose customer answered the satisfaction question after their yes."
    ),
    "satisfaction_average": (
        "The customers' mean answer to 'how did we do?' (1 poor to 5 excellent), over the"
        " complaints answered; asked only after the customer's own yes, it never affects closure."
    ),
    "satisfied_share": (
        "Answers of 4 or 5 divided by the complaints whose customer answered the question."
    ),
    "unconfirmed_backlog": (
        "Complaints not closed at the end of the period (or now), by age since receipt:"
        " under_1d, 1d_to_3d, 3d_to_7d, 7d_to_30d, over_30d."
    ),
}


@dataclass(frozen=True)
class Tally(KpiCounts):
    """Counts of one group (services/analytics/kpi/counts.py) and its open complaints by age;
    additive, so totals are the sum of the groups."""

    under_1d: int = 0
    b1d_to_3d: int = 0
    b3d_to_7d: int = 0
    b7d_to_30d: int = 0
    over_30d: int = 0

    @staticmethod
    def total(tallies: Iterable["Tally"]) -> "Tally":
        rows = [tuple(vars(t).values()) for t in tallies]
        return Tally(*(sum(column) for column in zip(*rows, strict=True))) if rows else Tally()


@dataclass(frozen=True)
class Durations:
    median_hours_to_confirmation: float | None = None
    p90_hours_to_confirmation: float | None = None
    median_hours_claimed_to_confirmed: float | None = None


def ratio(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def percentile(values: Iterable[float], q: float) -> float | None:
    """As PostgreSQL's percentile_cont: linear interpolation between the closest ranks."""
    ordered = sorted(values)
    if not ordered:
        return None
    position = (len(ordered) - 1) * q
    low, high = math.floor(position), math.ceil(position)
    value = ordered[low] + (ordered[high] - ordered[low]) * (position - low)
    return round(value, 2)


def durations(to_yes: Iterable[float], claimed_to_yes: Iterable[float]) -> Durations:
    to_yes = list(to_yes)
    return Durations(
        percentile(to_yes, 0.5), percentile(to_yes, 0.9), percentile(claimed_to_yes, 0.5)
    )


def metrics(t: Tally, d: Durations) -> dict[str, Any]:
    return {
        "received": t.received,
        "closed_confirmed": t.closed_confirmed,
        "rejected_resolutions": t.rejected_resolutions,
        "reopen_rate": ratio(t.reopened, t.proposed),
        "median_hours_to_confirmation": d.median_hours_to_confirmation,
        "p90_hours_to_confirmation": d.p90_hours_to_confirmation,
        "median_hours_claimed_to_confirmed": d.median_hours_claimed_to_confirmed,
        "resolved_rejected_share": ratio(t.resolved_rejected, t.resolved_proposals),
        "audit_failure_rate": ratio(t.audit_failed, t.audited),
        "attested_share": ratio(t.attested, t.closed_confirmed),
        "cannot_fulfil_share": ratio(t.cannot_fulfil, t.closed_confirmed),
        "first_contact_resolution_rate": ratio(t.first_contact, t.closed_confirmed),
        "department_sla_compliance": ratio(t.tasks_met, t.tasks_met + t.tasks_missed),
        "marked_resolved": t.proposed,
        "resolved_on_time_share": ratio(t.resolved_on_time, t.with_due),
        "confirmed_on_time_share": ratio(t.confirmed_on_time, t.with_due),
        "satisfaction_answers": t.satisfaction_answers,
        "satisfaction_average": ratio(t.satisfaction_points, t.satisfaction_answers),
        "satisfied_share": ratio(t.satisfied, t.satisfaction_answers),
        "unconfirmed_backlog": {
            "under_1d": t.under_1d,
            "1d_to_3d": t.b1d_to_3d,
            "3d_to_7d": t.b3d_to_7d,
            "7d_to_30d": t.b7d_to_30d,
            "over_30d": t.over_30d,
        },
    }


def report(
    tallies: Mapping[str | None, Tally], durations: Mapping[str | None, Durations], total: Durations
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """(one metrics row per group key, sorted with the unknown key last; the totals)."""
    keys = sorted(tallies, key=lambda k: (k is None, k or ""))
    groups = [{"key": k, **metrics(tallies[k], durations.get(k, Durations()))} for k in keys]
    return groups, metrics(Tally.total(tallies.values()), total)
