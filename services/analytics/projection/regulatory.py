"""Regulators' figures of a complaint: its clocks, the final response, and when it counts closed.

Business days are Monday to Friday (no holidays; ownership's calendars are its own and analytics
reads no other service's code), on UTC dates. A complaint counts closed for a regulator at the
earlier of the final response and the customer's confirmed closure. FCA bands (DISP 1.10): closed
by the end of the third business day after the day of receipt, else within eight weeks (56 days)
of receipt, else after eight weeks. Upheld: the final response's outcome where there is one
(upheld or partially upheld count as upheld); otherwise a closure on a `resolved` outcome is
upheld and one on `cannot_fulfil` is not.
"""

from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from services.analytics.domain import FactEvent, month, parse_time

EIGHT_WEEKS = timedelta(weeks=8)
CFPB_RESPONSE = timedelta(days=15)
CFPB_FINAL = timedelta(days=60)
_CLOCK_EVENTS = ("regulatory.warning", "regulatory.breached", "regulatory.stopped")


def business_days_after(start: date, end: date) -> int:
    """Business days (Mon-Fri) in (start, end]: 0 when end is on or before start."""
    if end <= start:
        return 0
    days = (end - start).days
    weeks, rest = divmod(days, 7)
    count = weeks * 5
    for i in range(1, rest + 1):
        if (start + timedelta(days=weeks * 7 + i)).weekday() < 5:
            count += 1
    return count


def fca_band(received_at: datetime, closed_at: datetime) -> str:
    if business_days_after(received_at.date(), closed_at.date()) <= 3:
        return "3_business_days"
    return "8_weeks" if closed_at - received_at <= EIGHT_WEEKS else "over_8_weeks"


def clocks(complaint_id: str, events: list[FactEvent]) -> list[dict[str, Any]]:
    """One row per clock a policy started or an event of it names (events in order)."""
    rows: dict[str, dict[str, Any]] = {}

    def row(name: str, profile: Any) -> dict[str, Any]:
        if name not in rows:
            rows[name] = {
                "complaint_id": complaint_id,
                "clock": name,
                "profile": profile,
                **dict.fromkeys(
                    ("started_at", "due_at", "warning_at", "warned_at", "breached_at"), None
                ),
                "stopped_at": None,
                "met": None,
            }
        return rows[name]

    for e in events:
        if e.type == "case.policy_applied":
            for clock in e.get("clocks") or []:
                r = row(str(clock.get("clock")), e.get("profile"))
                r["profile"] = e.get("profile")
                for key in ("started_at", "due_at", "warning_at"):
                    r[key] = parse_time(clock.get(key)) or r[key]
        elif e.type in _CLOCK_EVENTS and e.get("clock"):
            r = row(str(e.get("clock")), e.get("profile"))
            r["profile"] = r["profile"] or e.get("profile")
            r["started_at"] = r["started_at"] or parse_time(e.get("started_at"))
            r["due_at"] = parse_time(e.get("due_at")) or r["due_at"]
            kind = e.type.split(".")[1]
            column = {"warning": "warned_at", "breached": "breached_at", "stopped": "stopped_at"}
            if r[column[kind]] is None:
                r[column[kind]] = e.time("at")
    for r in rows.values():
        stopped, due = r["stopped_at"], r["due_at"]
        if r["breached_at"] is not None:
            r["met"] = False
        elif stopped is not None and due is not None:
            r["met"] = stopped <= due
    return list(rows.values())


def facts(events: list[FactEvent], row: dict[str, Any]) -> dict[str, Any]:
    """The regulatory complaint_facts columns, from the events in order and the row so far."""
    by: dict[str, list[FactEvent]] = defaultdict(list)
    for e in events:
        by[e.type].append(e)
    finals = by["case.final_response_sent"]
    final = finals[0] if finals else None
    final_at = final.time("sent_at") if final else None
    profiles = [e.get("profile") for e in by["case.policy_applied"] + finals if e.get("profile")]
    closed_at: datetime | None = row.get("closed_at")
    reg_closed = min((t for t in (final_at, closed_at) if t is not None), default=None)
    responses = [t for t in (row.get("first_proposed_at"), final_at) if t is not None]
    received = row.get("received_at")
    if final is not None:
        upheld: bool | None = final.get("outcome") in ("upheld", "partially_upheld")
    elif closed_at is not None and row.get("outcome") in ("resolved", "cannot_fulfil"):
        upheld = row.get("outcome") == "resolved"
    else:
        upheld = None
    return {
        "profile": profiles[-1] if profiles else None,
        "final_response_at": final_at,
        "final_response_outcome": final.get("outcome") if final else None,
        "first_response_at": min(responses, default=None),
        "reg_closed_at": reg_closed,
        "reg_closed_month": month(reg_closed) if reg_closed else None,
        "business_days_to_close": business_days_after(received.date(), reg_closed.date())
        if received and reg_closed
        else None,
        "fca_band": fca_band(received, reg_closed) if received and reg_closed else None,
        "upheld": upheld,
        "regulatory_breaches": len(by["regulatory.breached"]),
    }
