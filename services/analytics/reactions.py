"""Analytics use cases: fold any event into the read model, report KPIs, rebuild."""

import gc
from datetime import UTC, datetime
from typing import cast

from services.analytics import erasure
from services.analytics.kpi import rollup
from services.analytics.kpi import rules as kpi_rules
from services.analytics.kpi.by_group import grouped_kpis
from services.analytics.projection import state_cache
from services.analytics.projection.ingest import ingest, rebuild
from services.analytics.schemas import KpiReport, RebuildResult
from services.analytics.settings import AnalyticsSettings
from shared.errors import DomainError
from shared.events import Envelope
from shared.logging import get_logger
from shared.service import Runtime
from shared.timestamps import as_utc
from shared.uow import UnitOfWork

log = get_logger(__name__)


async def record_events(uow: UnitOfWork, envelopes: list[Envelope]) -> None:
    """Archive the events' non-personal attributes and re-project what they concern; erase what
    identifies the customers of erasure requests (after the batch's other events)."""
    requests = [e for e in envelopes if e.type == erasure.REQUESTED]
    await ingest(uow.conn, [e for e in envelopes if e.type != erasure.REQUESTED])
    for request in requests:
        await erasure.erase(uow, request)


async def rebuild_read_model(rt: Runtime) -> RebuildResult:
    """Recompute every fact table from the archived events."""
    started = datetime.now(UTC)
    streams = await rebuild(rt.engine)
    seconds = (datetime.now(UTC) - started).total_seconds()
    return RebuildResult(streams=streams, seconds=round(seconds, 3))


async def tune_process(rt: Runtime) -> None:
    """At start: keep as many complaints in memory as the settings say, and collect garbage as
    often as they say."""
    settings = cast(AnalyticsSettings, rt.settings)
    state_cache.CACHE.size = settings.state_cache_size
    _, middle, old = gc.get_threshold()
    gc.set_threshold(settings.gc_young_threshold, middle, old)


async def ensure_rollup(rt: Runtime) -> None:
    """At start: recompute the KPI rollup if it does not count every complaint (an upgrade)."""
    if await rollup.ensure(rt.engine):
        log.info("kpi_rollup_recomputed")


async def kpi_report(
    rt: Runtime, start: datetime | None, end: datetime | None, group_by: str
) -> KpiReport:
    """KPIs of the complaints received in [start, end), grouped by one dimension."""
    column = kpi_rules.GROUP_COLUMNS.get(group_by)
    if column is None:
        raise DomainError(
            "invalid_group_by",
            f"Cannot group by {group_by!r}.",
            422,
            allowed=sorted(kpi_rules.GROUP_COLUMNS),
        )
    start, end = (as_utc(t) if t else None for t in (start, end))
    if start and end and start >= end:
        raise DomainError("invalid_period", "`from` must be before `to`.", 422)
    now = datetime.now(UTC)
    as_of = min(end, now) if end else now
    exact_limit = cast(AnalyticsSettings, rt.settings).kpi_exact_limit
    async with rt.uow() as uow:
        tallies, times, total, exact = await grouped_kpis(
            uow.conn, group_by, start, end, as_of, exact_limit
        )
    groups, totals = kpi_rules.report(tallies, times, total)
    return KpiReport.model_validate(
        {
            "from": start,
            "to": end,
            "as_of": as_of,
            "group_by": group_by,
            "exact_percentiles": exact,
            "groups": groups,
            "totals": totals,
            "definitions": kpi_rules.DEFINITIONS,
        }
    )
