"""The analyst's KPIs from analytics as bar charts: the customer's side beside the department's."""

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


@router.get("/kpis")
async def kpis(
    request: Request,
    who: Analyst,
    to: str | None = None,
    group_by: str = "channel",
) -> Response:
    start = request.query_params.get("from") or None  # `from` is a keyword in Python
    if group_by not in GROUPINGS:
        group_by = "channel"
    report = await request.app.state.backend.get(
        who, "analytics", "/v1/kpis", **{"from": start, "to": to, "group_by": group_by}
    )
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
