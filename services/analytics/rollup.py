"""The KPI rollup: complaint tallies and duration histograms per dimension, key, day and month.

Every change of a complaint's facts moves its contribution from the old rollup rows to the new
ones (subtract what the old row gave, add what the new one gives), in the transaction that
changes the facts, so the rollup always equals an aggregation of complaint_facts. Grouped KPIs
over long periods then read a few thousand rollup rows instead of a million complaints.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, select, text, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.analytics import sketch
from services.analytics.domain import as_utc
from services.analytics.models import ROLLUP_COUNTS, complaint_facts, kpi_rollup, task_facts

# Rollup dimension → complaint_facts column; "all" is the one key of every complaint (weeks and
# months are read from its day rows). Unknown values are kept under the key "".
DIMENSIONS: dict[str, str | None] = {
    "channel": "channel",
    "category": "category",
    "product": "product",
    "region": "region",
    "priority": "priority",
    "team": "team",
    "owner": "owner_id",
    "department": "department",
    "all": None,
}
DAY, MONTH = "d", "m"
_TASKS = (ROLLUP_COUNTS.index("tasks_met"), ROLLUP_COUNTS.index("tasks_missed"))
_LOCK = 7_310_001  # serialises rollup writers on PostgreSQL (rows are shared by many streams)
_CHUNK = 500
RowKey = tuple[str, str, date, str]
_EXISTING = text(
    "SELECT r.* FROM kpi_rollup r JOIN unnest(CAST(:dimensions AS varchar[]),"
    " CAST(:grains AS varchar[]), CAST(:periods AS date[]), CAST(:keys AS varchar[]))"
    " AS u(dimension, grain, period, key) USING (dimension, grain, period, key)"
)
Facts = Mapping[Any, Any]


def counts(f: Facts) -> list[int]:
    """One complaint's contribution to each of ROLLUP_COUNTS, as the raw KPI query counts it."""
    closed, proposed = f["closed_at"] is not None, f["first_proposed_at"] is not None
    return [
        1,
        int(closed),
        f["rejections"] or 0,
        int(proposed and (f["reopen_count"] or 0) > 0),
        int(proposed),
        f["resolved_proposals"] or 0,
        f["resolved_rejected"] or 0,
        int(f["audit_outcome"] is not None),
        int(f["audit_outcome"] == "failed"),
        int(closed and f["attested"] is True),
        int(closed and f["outcome"] == "cannot_fulfil"),
        int(f["first_contact_resolution"] is True),
        f["tasks_met"] or 0,
        f["tasks_missed"] or 0,
        int(f["due_at"] is not None),
        int(f["resolved_on_time"] is True),
        int(f["confirmed_on_time"] is True),
        int(not closed),
        int(f["hours_to_confirmation"] is not None),
    ]


def key_of(value: Any) -> str:
    return "" if value is None else str(value)


def signature(facts: Facts | None, tasks: Sequence[Facts]) -> tuple[Any, ...] | None:
    """Everything of a complaint that the rollup depends on; equal signatures, equal rows."""
    if facts is None or facts["received_at"] is None:
        return None
    return (
        as_utc(facts["received_at"]).date(),
        tuple(facts[c] for c in DIMENSIONS.values() if c),
        tuple(counts(facts)),
        facts["hours_to_confirmation"],
        facts["hours_claimed_to_confirmed"],
        tuple(sorted((key_of(t["department"]), t["met_sla"] is True) for t in _done(tasks))),
    )


def _done(tasks: Iterable[Facts]) -> list[Facts]:
    return [t for t in tasks if t["met_sla"] is not None]


Pairs = Sequence[tuple[int, int]]  # (index, amount): the non-zero entries of a change


class Change:
    """What a batch adds to one rollup row: counts, and histogram entries by bin."""

    __slots__ = ("counts", "gap", "to_yes")

    def __init__(self) -> None:
        self.counts = [0] * len(ROLLUP_COUNTS)
        self.to_yes: dict[int, int] = {}
        self.gap: dict[int, int] = {}

    def add(self, values: Pairs, to_yes: Pairs = (), gap: Pairs = ()) -> None:
        counts = self.counts
        for index, amount in values:
            counts[index] += amount
        for index, amount in to_yes:
            self.to_yes[index] = self.to_yes.get(index, 0) + amount
        for index, amount in gap:
            self.gap[index] = self.gap.get(index, 0) + amount

    def is_empty(self) -> bool:
        return not any(self.counts) and not any(self.to_yes.values()) and not any(self.gap.values())


def _bins(facts: Facts | None, sign: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """The complaint's (to-yes, claimed-to-yes) histogram entries, each a list of 0 or 1."""
    yes, gap = (
        [] if facts is None or facts[c] is None else [(sketch.bin_of(facts[c]), sign)]
        for c in ("hours_to_confirmation", "hours_claimed_to_confirmed")
    )
    return yes, gap


@dataclass
class Delta:
    """Changes to rollup rows, accumulated over complaints before one write."""

    rows: dict[RowKey, Change] = field(default_factory=dict)

    def move(
        self, before: tuple[Facts | None, Sequence[Facts]], after: tuple[Facts, Sequence[Facts]]
    ) -> None:
        old, new = signature(*before), signature(*after)
        if old == new:
            return
        if old is None or new is None or (old[0], old[1], old[5]) != (new[0], new[1], new[5]):
            self.add(*before, sign=-1)
            self.add(*after, sign=1)
            return
        # The same rows before and after (the usual case): add the difference once per row.
        facts = after[0]
        values = [(i, b - a) for i, (a, b) in enumerate(zip(old[2], new[2], strict=True)) if a != b]
        (yes_old, gap_old), (yes_new, gap_new) = _bins(before[0], -1), _bins(facts, 1)
        to_yes = [] if yes_old == [(b, -1) for b, _ in yes_new] else yes_old + yes_new
        gap = [] if gap_old == [(b, -1) for b, _ in gap_new] else gap_old + gap_new
        self._complaint(facts, values, to_yes, gap)

    def add(self, facts: Facts | None, tasks: Sequence[Facts], sign: int = 1) -> None:
        if facts is None or facts["received_at"] is None:
            return
        values = [(i, sign * v) for i, v in enumerate(counts(facts)) if v]
        self._complaint(facts, values, *_bins(facts, sign))
        periods = _periods(facts)
        for task in _done(tasks):
            task_values = [(_TASKS[0 if task["met_sla"] is True else 1], sign)]
            for grain, period in periods:
                self._change("department", grain, period, key_of(task["department"])).add(
                    task_values
                )

    def _complaint(self, facts: Facts, values: Pairs, to_yes: Pairs, gap: Pairs) -> None:
        if not values and not to_yes and not gap:
            return
        periods = _periods(facts)
        # Tasks count for their own department (see add), not the complaint's first one.
        own = [(i, v) for i, v in values if i not in _TASKS]
        for dimension, column in DIMENSIONS.items():
            key = key_of(facts[column]) if column else ""
            for grain, period in periods:
                change = self._change(dimension, grain, period, key)
                change.add(own if dimension == "department" else values, to_yes, gap)

    def _change(self, dimension: str, grain: str, period: date, key: str) -> Change:
        row_key = (dimension, grain, period, key)
        change = self.rows.get(row_key)
        if change is None:
            change = self.rows[row_key] = Change()
        return change


def _periods(facts: Facts) -> tuple[tuple[str, date], tuple[str, date]]:
    day = as_utc(facts["received_at"]).date()
    return (DAY, day), (MONTH, day.replace(day=1))


async def apply(conn: AsyncConnection, delta: Delta) -> None:
    """Add the changes to the rollup rows (creating and deleting rows as needed)."""
    changes = {k: c for k, c in sorted(delta.rows.items()) if not c.is_empty()}
    if not changes:
        return
    if conn.dialect.name == "postgresql":
        await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK})
    columns = (kpi_rollup.c.dimension, kpi_rollup.c.grain, kpi_rollup.c.period, kpi_rollup.c.key)
    existing = await _existing(conn, list(changes))
    upserts, gone = [], []
    for row_key, change in changes.items():
        row = _merged(row_key, existing.get(row_key), change)
        if row is not None:
            upserts.append(row)
        elif row_key in existing:
            gone.append(row_key)
    if upserts:
        insert = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(
            kpi_rollup
        )
        stmt = insert.on_conflict_do_update(
            index_elements=[c.name for c in columns],
            set_={name: insert.excluded[name] for name in (*ROLLUP_COUNTS, "to_yes", "gap")},
        )
        await conn.execute(stmt, upserts)
    for start in range(0, len(gone), _CHUNK):
        await conn.execute(
            kpi_rollup.delete().where(tuple_(*columns).in_(gone[start : start + _CHUNK]))
        )


async def _existing(conn: AsyncConnection, keys: list[RowKey]) -> dict[RowKey, Any]:
    rows: list[Any] = []
    if conn.dialect.name == "postgresql":  # one statement, whatever the number of keys
        dimensions, grains, periods, names = (list(column) for column in zip(*keys, strict=True))
        arrays = {"dimensions": dimensions, "grains": grains, "periods": periods, "keys": names}
        rows = list(await conn.execute(_EXISTING, arrays))
    else:
        columns = (
            kpi_rollup.c.dimension,
            kpi_rollup.c.grain,
            kpi_rollup.c.period,
            kpi_rollup.c.key,
        )
        for start in range(0, len(keys), _CHUNK):
            query = select(kpi_rollup).where(tuple_(*columns).in_(keys[start : start + _CHUNK]))
            rows += await conn.execute(query)
    return {(r.dimension, r.grain, _as_date(r.period), r.key): r for r in rows}


def _merged(row_key: RowKey, row: Any, change: Change) -> dict[str, Any] | None:
    """The row after the change; None when nothing is left in it."""
    if row is None:
        values, to_yes, gap = (
            change.counts,
            _histogram(b"", change.to_yes),
            _histogram(b"", change.gap),
        )
    else:
        stored = tuple(row)  # the columns in table order: the key, ROLLUP_COUNTS, to_yes, gap
        values = [a + b for a, b in zip(stored[4:-2], change.counts, strict=True)]
        to_yes, gap = _histogram(stored[-2], change.to_yes), _histogram(stored[-1], change.gap)
    if not any(values) and not to_yes and not gap:
        return None
    dimension, grain, period, key = row_key
    return {
        "dimension": dimension,
        "grain": grain,
        "period": period,
        "key": key,
        **dict(zip(ROLLUP_COUNTS, values, strict=True)),
        "to_yes": to_yes,
        "gap": gap,
    }


def _histogram(blob: bytes, change: dict[int, int]) -> bytes:
    return sketch.merge(blob, change) if any(change.values()) else blob


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
