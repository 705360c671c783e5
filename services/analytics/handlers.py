"""Analytics use cases: fold any event into the read model, report KPIs, rebuild."""

from dataclasses import replace
from datetime import UTC, datetime

from services.analytics import domain, kpis, queries
from services.analytics.ingest import ingest, rebuild
from services.analytics.schemas import KpiReport, RebuildResult
from shared.errors import DomainError
from shared.events import Envelope
from shared.service import Runtime
from shared.uow import UnitOfWork


async def record_events(uow: UnitOfWork, envelopes: list[Envelope]) -> None:
    """Archive the events' non-personal attributes and re-project what they concern."""
    await ingest(uow.conn, envelopes)


async def rebuild_read_model(rt: Runtime) -> RebuildResult:
    """Recompute every fact table from the archived events."""
    started = datetime.now(UTC)
    streams = await rebuild(rt.engine)
    seconds = (datetime.now(UTC) - started).total_seconds()
    return RebuildResult(streams=streams, seconds=round(seconds, 3))


async def kpi_report(
    rt: Runtime, start: datetime | None, end: datetime | None, group_by: str
) -> KpiReport:
    """KPIs of the complaints received in [start, end), grouped by one dimension."""
    column = kpis.GROUP_COLUMNS.get(group_by)
    if column is None:
        raise DomainError(
            "invalid_group_by",
            f"Cannot group by {group_by!r}.",
            422,
            allowed=sorted(kpis.GROUP_COLUMNS),
        )
    start, end = (domain.as_utc(t) if t else None for t in (start, end))
    if start and end and start >= end:
        raise DomainError("invalid_period", "`from` must be before `to`.", 422)
    now = datetime.now(UTC)
    as_of = min(end, now) if end else now
    async with rt.uow() as uow:
        tallies, times, total = await queries.complaint_kpis(uow.conn, column, start, end, as_of)
        if group_by == "department":
            # Each task counts for its own department, not the complaint's first one.
            tasks = await queries.department_compliance(uow.conn, start, end)
            tallies = {k: replace(v, tasks_met=0, tasks_missed=0) for k, v in tallies.items()}
            for key, (met, missed) in tasks.items():
                tally = tallies.get(key, kpis.Tally())
                tallies[key] = replace(tally, tasks_met=met, tasks_missed=missed)
    groups, totals = kpis.report(tallies, times, total)
    return KpiReport.model_validate(
        {
            "from": start,
            "to": end,
            "as_of": as_of,
            "group_by": group_by,
            "groups": groups,
            "totals": totals,
            "definitions": kpis.DEFINITIONS,
        }
    )
