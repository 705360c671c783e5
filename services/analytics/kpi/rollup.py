"""The KPI rollup: complaint tallies and duration histograms per dimension, key, day and month.

Every change of a complaint's facts moves its contribution from the old rollup rows to the new
ones (subtract what the old row gave, add what the new one gives), in the transaction that
changes the facts, so the rollup always equals an aggregation of complaint_facts. Grouped KPIs
over long periods then read a few thousand rollup rows instead of a million complaints.
"""

from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import and_, func, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.analytics import bulk_statements
from services.analytics.kpi import sketch
from services.analytics.kpi.rollup_delta import DAY, MONTH, Delta, Facts, RowKey
from services.analytics.models import ROLLUP_COUNTS, complaint_facts, kpi_rollup, task_facts
from shared.timestamps import as_utc

__all__ = ["DAY", "MONTH", "Delta", "apply", "ensure", "recompute"]

_LOCK = 7_310_001  # serialises rollup writers on PostgreSQL (rows are shared by many streams)
_CHUNK = 500
# The columns named in the table's declared order: a migration that adds a count appends its
# column to the stored table, after the histograms, so `r.*` would not be in this order.
_EXISTING = (
    f"SELECT {', '.join(f'r.{c.name}' for c in kpi_rollup.c)} FROM kpi_rollup r"
    " JOIN unnest($1::varchar[], $2::varchar[], $3::date[], $4::varchar[])"
    " AS u(dimension, grain, period, key) USING (dimension, grain, period, key)"
)


async def apply(conn: AsyncConnection, delta: Delta) -> None:
    """Add the changes to the rollup rows (creating and deleting rows as needed)."""
    changes = delta.changes()
    histograms = [changes.to_yes, changes.gap]
    touched = np.asarray(changes.counts.any(axis=1), dtype=bool)
    for histogram in histograms:
        touched[[i for i, entries in histogram.items() if any(entries.values())]] = True
    if not touched.any():
        return
    if conn.dialect.name == "postgresql":
        await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK})
    at = np.flatnonzero(touched).tolist()
    rows = [changes.rows[i] for i in at]
    existing = await _existing(conn, rows)
    stored = [existing.get(row) for row in rows]
    counts = changes.counts[at] + np.array(
        [r[4:-2] if r else (0,) * len(ROLLUP_COUNTS) for r in stored], dtype=np.int64
    ).reshape(len(at), len(ROLLUP_COUNTS))
    blobs = []
    for position, histogram in zip((-2, -1), histograms, strict=True):
        column = [r[position] if r else b"" for r in stored]
        for n, i in enumerate(at):
            if any(histogram.get(i, {}).values()):
                column[n] = sketch.merge(column[n], histogram[i])
        blobs.append(column)
    keep = counts.any(axis=1) | np.array([bool(a or b) for a, b in zip(*blobs, strict=True)])
    kept = np.flatnonzero(keep).tolist()
    columns: dict[str, list[Any]] = {
        name: [rows[n][position] for n in kept]
        for position, name in enumerate(("dimension", "grain", "period", "key"))
    }
    columns.update(zip(ROLLUP_COUNTS, counts[kept].T.tolist(), strict=True))
    columns["to_yes"], columns["gap"] = ([blob[n] for n in kept] for blob in blobs)
    await bulk_statements.insert_columns(conn, kpi_rollup, columns, "update")
    gone = [row for row, r, k in zip(rows, stored, keep.tolist(), strict=True) if r and not k]
    key = (kpi_rollup.c.dimension, kpi_rollup.c.grain, kpi_rollup.c.period, kpi_rollup.c.key)
    for start in range(0, len(gone), _CHUNK):
        await conn.execute(
            kpi_rollup.delete().where(tuple_(*key).in_(gone[start : start + _CHUNK]))
        )


async def _existing(conn: AsyncConnection, keys: list[RowKey]) -> dict[RowKey, tuple[Any, ...]]:
    """The stored rows of these keys, as tuples in table order."""
    if conn.dialect.name == "postgresql":  # one statement, whatever the number of keys
        dimensions, grains, periods, names = (list(column) for column in zip(*keys, strict=True))
        records = await bulk_statements.fetch(conn, _EXISTING, dimensions, grains, periods, names)
        return {(r[0], r[1], r[2], r[3]): tuple(r) for r in records}
    rows: list[Any] = []
    columns = (kpi_rollup.c.dimension, kpi_rollup.c.grain, kpi_rollup.c.period, kpi_rollup.c.key)
    for start in range(0, len(keys), _CHUNK):
        query = select(kpi_rollup).where(tuple_(*columns).in_(keys[start : start + _CHUNK]))
        rows += await conn.execute(query)
    return {(r.dimension, r.grain, _as_date(r.period), r.key): tuple(r) for r in rows}


def _as_date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


async def recompute(engine: AsyncEngine) -> None:
    """Rebuild the rollup from complaint_facts, one month of receipts per transaction."""
    c = complaint_facts.c
    async with engine.begin() as conn:
        await conn.execute(kpi_rollup.delete())
        first, last = (
            await conn.execute(select(func.min(c.received_at), func.max(c.received_at)))
        ).one()
    if first is None:
        return
    month, end = as_utc(first).date().replace(day=1), as_utc(last).date()
    while month <= end:
        following = (month + timedelta(days=32)).replace(day=1)
        async with engine.begin() as conn:
            await _recompute_month(conn, month, following)
        month = following


async def _recompute_month(conn: AsyncConnection, month: date, following: date) -> None:
    c, t = complaint_facts.c, task_facts.c
    since, until = (datetime(d.year, d.month, d.day) for d in (month, following))
    period = and_(c.received_at >= since, c.received_at < until)
    tasks: dict[str, list[Facts]] = {}
    query = select(t.complaint_id, t.department, t.met_sla).select_from(
        task_facts.join(complaint_facts, t.complaint_id == c.complaint_id)
    )
    for r in await conn.execute(query.where(period)):
        tasks.setdefault(r.complaint_id, []).append(r._mapping)
    delta = Delta()
    for r in await conn.execute(select(complaint_facts).where(period)):
        delta.add(r._mapping, tasks.get(r.complaint_id, []))
    await apply(conn, delta)


async def ensure(engine: AsyncEngine) -> bool:
    """Recompute the rollup when it does not count every complaint (e.g. after the upgrade that
    added it); returns whether it did."""
    c = complaint_facts.c
    received = select(func.count()).where(c.received_at.is_not(None))
    counted = select(func.coalesce(func.sum(kpi_rollup.c.received), 0)).where(
        kpi_rollup.c.dimension == "all", kpi_rollup.c.grain == MONTH
    )
    async with engine.connect() as conn:
        if (await conn.scalar(received)) == (await conn.scalar(counted)):
            return False
    await recompute(engine)
    return True
