"""Analytics HTTP routes: they only translate to handlers."""

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from services.analytics import export, reactions, reports
from services.analytics.kpi.rules import GROUP_COLUMNS
from services.analytics.models import EXPORTABLE
from services.analytics.schemas import KpiReport, RebuildResult
from services.analytics.settings import AnalyticsRuntimeDep
from shared.auth import Principal, require
from shared.timestamps import IsoDateTime

router = APIRouter(prefix="/v1", tags=["kpis"])

Analyst = Annotated[Principal, Depends(require("analyst", "supervisor", "admin"))]
Admin = Annotated[Principal, Depends(require("admin"))]


@router.get("/kpis", response_model=KpiReport)
async def read_kpis(
    rt: AnalyticsRuntimeDep,
    _: Analyst,
    from_: Annotated[
        IsoDateTime | None,
        Query(alias="from", description="Received at or after (ISO 8601; UTC without an offset)."),
    ] = None,
    to: Annotated[
        IsoDateTime | None, Query(description="Received before (ISO 8601; UTC without an offset).")
    ] = None,
    group_by: Annotated[str, Query(description=", ".join(GROUP_COLUMNS) + ".")] = "channel",
) -> KpiReport:
    """Customer-side KPIs, beside the department-side view, of complaints received in [from, to)."""
    return await reactions.kpi_report(rt, from_, to, group_by)


@router.get(
    "/export/{table}.{fmt}",
    tags=["export"],
    response_class=StreamingResponse,
    responses={200: {"content": {t: {} for t in export.FORMATS.values()}}},
)
async def export_table(
    rt: AnalyticsRuntimeDep,
    _: Analyst,
    table: Annotated[str, Path(description="One of: " + ", ".join(EXPORTABLE) + ".")],
    fmt: Annotated[Literal["csv", "parquet"], Path(description="csv or parquet.")],
) -> StreamingResponse:
    """A whole fact table for BI tools, streamed (CSV with a header row, or Parquet)."""
    source = export.exportable(table)
    body = (export.csv_stream if fmt == "csv" else export.parquet_stream)(rt.engine, source)
    return StreamingResponse(
        body,
        media_type=export.FORMATS[fmt],
        headers={"Content-Disposition": f'attachment; filename="{table}.{fmt}"'},
    )


@router.post("/admin/rebuild", response_model=RebuildResult, tags=["admin"])
async def rebuild(rt: AnalyticsRuntimeDep, _: Admin) -> RebuildResult:
    """Recompute every fact table from the archived events (same KPIs as before)."""
    return await reactions.rebuild_read_model(rt)


Period = Annotated[IsoDateTime | None, Query(description="ISO 8601; UTC without an offset.")]
Format = Annotated[Literal["json", "csv"] | None, Query(description="json (default) or csv.")]


def _report(
    request: Request,
    fmt: str | None,
    name: str,
    rows: list[dict[str, Any]],
    columns: Any,
    start: datetime,
    end: datetime,
) -> Response:
    wants_csv = fmt == "csv" or (fmt is None and "text/csv" in request.headers.get("accept", ""))
    if wants_csv:
        return Response(
            reports.as_csv(rows, columns),
            media_type=export.FORMATS["csv"],
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    return JSONResponse(
        {
            "from": start.isoformat(),
            "to": end.isoformat(),
            "rows": rows,
            "definitions": reports.__doc__,
        }
    )


@router.get(
    "/reports/fca-complaints-return",
    tags=["reports"],
    responses={200: {"content": {"application/json": {}, "text/csv": {}}}},
)
async def fca_complaints_return(
    rt: AnalyticsRuntimeDep,
    _: Analyst,
    request: Request,
    from_: Annotated[Period, Query(alias="from")] = None,
    to: Period = None,
    format: Format = None,
) -> Response:
    """The FCA complaints return by product group over [from, to) (definitions in the body)."""
    start, end = reports.period(from_, to)
    rows = await reports.fca_return(rt, start, end)
    return _report(request, format, "fca-complaints-return", rows, reports.FCA_COLUMNS, start, end)


@router.get(
    "/reports/cfpb-timeliness",
    tags=["reports"],
    responses={200: {"content": {"application/json": {}, "text/csv": {}}}},
)
async def cfpb_timeliness(
    rt: AnalyticsRuntimeDep,
    _: Analyst,
    request: Request,
    from_: Annotated[Period, Query(alias="from")] = None,
    to: Period = None,
    format: Format = None,
) -> Response:
    """CFPB timeliness of the complaints received in [from, to) by product group."""
    start, end = reports.period(from_, to)
    rows = await reports.cfpb_timeliness(rt, start, end)
    return _report(request, format, "cfpb-timeliness", rows, reports.CFPB_COLUMNS, start, end)
