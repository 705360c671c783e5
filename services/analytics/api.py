"""Analytics HTTP routes: they only translate to handlers."""

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import StreamingResponse

from services.analytics import export, handlers
from services.analytics.kpis import GROUP_COLUMNS
from services.analytics.models import EXPORTABLE
from services.analytics.schemas import KpiReport, RebuildResult
from shared.auth import Principal, require
from shared.service import RuntimeDep
from shared.timestamps import IsoDateTime

router = APIRouter(prefix="/v1", tags=["kpis"])

Analyst = Annotated[Principal, Depends(require("analyst", "supervisor", "admin"))]
Admin = Annotated[Principal, Depends(require("admin"))]


@router.get("/kpis", response_model=KpiReport)
async def read_kpis(
    rt: RuntimeDep,
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
    return await handlers.kpi_report(rt, from_, to, group_by)


@router.get(
    "/export/{table}.{fmt}",
    tags=["export"],
    response_class=StreamingResponse,
    responses={200: {"content": {t: {} for t in export.FORMATS.values()}}},
)
async def export_table(
    rt: RuntimeDep,
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
async def rebuild(rt: RuntimeDep, _: Admin) -> RebuildResult:
    """Recompute every fact table from the archived events (same KPIs as before)."""
    return await handlers.rebuild_read_model(rt)
