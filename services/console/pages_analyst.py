"""The analyst's KPIs from analytics as bar charts: the customer's side beside the department's."""

import csv
import io
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from services.console.accounts import Account
from services.console.identity import role
from services.console.texts import METRICS
from services.console.web import render

router = APIRouter()
Analyst = Annotated[Account, Depends(role("analyst", "supervisor", "admin"))]
GROUPINGS = (
    "channel",
    "category",
    "product",
    "region",
    "priority",
    "team",
    "owner",
    "department",
    "week",
    "month",
)
SHARES = {
    "reopen_rate",
    "resolved_on_time_share",
    "confirmed_on_time_share",
    "audit_failure_rate",
}


def chart(groups: list[dict[str, Any]], metric: str) -> list[dict[str, Any]]:
    """One bar per group, its width relative to the largest value (shares against 100%)."""
    values = [(g.get("key") or "—", g.get(metric)) for g in groups]
    top = 1.0 if metric in SHARES else max((v for _, v in values if v), default=0) or 1
    return [
        {
            "label": label,
            "width": round(100 * (value or 0) / top, 1),
            "text": "—"
            if value is None
            else (f"{100 * value:.0f}%" if metric in SHARES else f"{value:g}"),
        }
        for label, value in values
    ]


async def _report(
    request: Request, who: Account, to: str | None, group_by: str
) -> tuple[dict[str, Any], str | None, str]:
    start = request.query_params.get("from") or None  # `from` is a keyword in Python
    if group_by not in GROUPINGS:
        group_by = "channel"
    report = await request.app.state.backend.get(
        who, "analytics", "/v1/kpis", **{"from": start, "to": to or None, "group_by": group_by}
    )
    return report, start, group_by


def report_csv(report: dict[str, Any]) -> str:
    """The report as shown, one row per group and the totals last, every figure analytics
    gives (the shares as fractions; the backlog's ages as columns of their own)."""
    names = list(_flat(report["totals"]))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([report["group_by"], *names])
    for group in report["groups"]:
        flat = _flat(group)
        writer.writerow([_cell(group.get("key")), *(_cell(flat.get(n)) for n in names)])
    totals = _flat(report["totals"])
    writer.writerow(["(all)", *(_cell(totals.get(n)) for n in names)])
    return out.getvalue()


def _flat(figures: dict[str, Any]) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for name, value in figures.items():
        if name == "key":
            continue
        if isinstance(value, dict):
            flat |= {f"{name}.{k}": v for k, v in value.items()}
        else:
            flat[name] = value
    return flat


def _cell(value: Any) -> Any:
    # A spreadsheet runs a cell that starts with = + - @ as a formula: a group's name is data.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return "" if value is None else value


@router.get("/kpis.csv")
async def kpis_csv(
    request: Request, who: Analyst, to: str | None = None, group_by: str = "channel"
) -> Response:
    report, _, group_by = await _report(request, who, to, group_by)
    return Response(
        report_csv(report),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="kpis-by-{group_by}.csv"'},
    )


@router.get("/kpis")
async def kpis(
    request: Request,
    who: Analyst,
    to: str | None = None,
    group_by: str = "channel",
) -> Response:
    report, start, group_by = await _report(request, who, to, group_by)
    charts = [(metric, chart(report["groups"], metric)) for metric in METRICS]
    return render(
        request,
        "kpis.html",
        report=report,
        charts=charts,
        groupings=GROUPINGS,
        group_by=group_by,
        start=start or "",
        end=to or "",
    )
