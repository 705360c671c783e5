"""Regulators' returns from the facts: the FCA complaints return and CFPB timeliness.

Definitions (see services/analytics/projection/regulatory.py for business days, bands and upheld):

FCA, by product group over the reporting period [from, to): `opened` = received in the period;
`closed` = counted closed (the earlier of final response and confirmed closure) in the period;
of those, closed by the end of the 3rd business day after receipt, after that but within 8 weeks
of receipt, after 8 weeks; `upheld` = closed and upheld (wholly or partly), `partially_upheld`
those of them partly.

CFPB, by product group, complaints received in [from, to): `responded_within_15_days` = the
first response (a proposed resolution or the final response) within 15 days of receipt;
`final_response_within_60_days` = counted closed within 60 days; `untimely` = either deadline
missed (a response after it, or none by the report's time past it); `pending` = neither
missed nor both met yet.
"""

import csv
import io
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, or_, select

from services.analytics.models import complaint_facts
from services.analytics.projection.regulatory import CFPB_FINAL, CFPB_RESPONSE
from shared.errors import DomainError
from shared.service import Runtime
from shared.timestamps import as_utc

FCA_COLUMNS = (
    "product_group",
    "opened",
    "closed",
    "closed_within_3_business_days",
    "closed_after_3_business_days_within_8_weeks",
    "closed_after_8_weeks",
    "upheld",
    "partially_upheld",
)
CFPB_COLUMNS = (
    "product_group",
    "received",
    "responded_within_15_days",
    "final_response_within_60_days",
    "untimely",
    "pending",
)
BANDS = {
    "3_business_days": "closed_within_3_business_days",
    "8_weeks": "closed_after_3_business_days_within_8_weeks",
    "over_8_weeks": "closed_after_8_weeks",
}


def period(start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    if start is None or end is None:
        raise DomainError("invalid_period", "Both `from` and `to` are required.", 422)
    start, end = as_utc(start), as_utc(end)
    if start >= end:
        raise DomainError("invalid_period", "`from` must be before `to`.", 422)
    return start, end


def _group(row: Any) -> str:
    return row.product or "unspecified"


def _rows(groups: dict[str, dict[str, int]], columns: tuple[str, ...]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = [{"product_group": k, **v} for k, v in sorted(groups.items())]
    totals = {c: sum(int(r[c]) for r in rows) for c in columns[1:]}
    return [*rows, {"product_group": "total", **totals}]


async def fca_return(rt: Runtime, start: datetime, end: datetime) -> list[dict[str, Any]]:
    f = complaint_facts.c
    in_period = and_(f.received_at >= start, f.received_at < end)
    closed_in = and_(f.reg_closed_at >= start, f.reg_closed_at < end)
    query = select(f.product, f.received_at, f.reg_closed_at, f.fca_band, f.upheld).where(
        f.received_at.is_not(None),
        or_(in_period, closed_in),
    )
    groups: dict[str, dict[str, int]] = {}
    async with rt.engine.connect() as conn:
        for r in await conn.execute(query):
            g = groups.setdefault(_group(r), dict.fromkeys(FCA_COLUMNS[1:], 0))
            if start <= as_utc(r.received_at) < end:
                g["opened"] += 1
            if r.reg_closed_at is not None and start <= as_utc(r.reg_closed_at) < end:
                g["closed"] += 1
                g[BANDS[r.fca_band]] += 1
                g["upheld"] += bool(r.upheld)
    # Partly upheld: a second, narrower pass over the closed ones with a final response.
    query = select(f.product).where(
        f.received_at.is_not(None),
        closed_in,
        f.final_response_outcome == "partially_upheld",
    )
    async with rt.engine.connect() as conn:
        for r in await conn.execute(query):
            groups[_group(r)]["partially_upheld"] += 1
    return _rows(groups, FCA_COLUMNS)


async def cfpb_timeliness(
    rt: Runtime, start: datetime, end: datetime, now: datetime | None = None
) -> list[dict[str, Any]]:
    now = now or datetime.now(UTC)
    f = complaint_facts.c
    query = select(f.product, f.received_at, f.first_response_at, f.reg_closed_at).where(
        f.received_at >= start, f.received_at < end
    )
    groups: dict[str, dict[str, int]] = {}
    async with rt.engine.connect() as conn:
        for r in await conn.execute(query):
            g = groups.setdefault(_group(r), dict.fromkeys(CFPB_COLUMNS[1:], 0))
            received = as_utc(r.received_at)
            response = as_utc(r.first_response_at) if r.first_response_at else None
            final = as_utc(r.reg_closed_at) if r.reg_closed_at else None
            g["received"] += 1
            responded = response is not None and response <= received + CFPB_RESPONSE
            finished = final is not None and final <= received + CFPB_FINAL
            g["responded_within_15_days"] += responded
            g["final_response_within_60_days"] += finished
            late_response = not responded and (
                response is not None or now > received + CFPB_RESPONSE
            )
            late_final = not finished and (final is not None or now > received + CFPB_FINAL)
            if late_response or late_final:
                g["untimely"] += 1
            elif not (responded and finished):
                g["pending"] += 1
    return _rows(groups, CFPB_COLUMNS)


def as_csv(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()
