"""Analytics HTTP routes: they only translate to handlers."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from services.analytics import handlers
from services.analytics.schemas import KpiReport
from shared.auth import Principal, require
from shared.service import RuntimeDep

router = APIRouter(prefix="/v1", tags=["kpis"])

Analyst = Annotated[Principal, Depends(require("analyst", "supervisor", "admin"))]


@router.get("/kpis", response_model=KpiReport)
async def read_kpis(
    rt: RuntimeDep,
    _: Analyst,
    from_: Annotated[
        datetime | None,
        Query(alias="from", description="Received at or after (ISO 8601; UTC without an offset)."),
    ] = None,
    to: Annotated[
        datetime | None, Query(description="Received before (ISO 8601; UTC without an offset).")
    ] = None,
    group_by: Annotated[
        str, Query(description="channel, category, product, region, priority, team or owner.")
    ] = "channel",
) -> KpiReport:
    """Customer-side KPIs of the complaints received in [from, to), by one dimension."""
    return await handlers.kpi_report(rt, from_, to, group_by)
