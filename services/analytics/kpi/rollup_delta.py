"""What a batch of re-projected complaints changes in the KPI rollup, summed per rollup row.

Each complaint whose rollup contribution changed leaves a record: its key in every dimension, its
day of receipt, the change of its counts and of its histogram entries. The records are summed
per (dimension, key, day) and (dimension, key, month) with numpy, one pass per dimension and
grain, instead of a Python call per complaint and rollup row.
"""

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt

from services.analytics.kpi import counts as kpi_counts
from services.analytics.kpi import sketch
from services.analytics.models import ROLLUP_COUNTS
from shared.timestamps import as_utc

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
RowKey = tuple[str, str, date, str]
Facts = kpi_counts.Facts
Pairs = Sequence[tuple[int, int]]  # (histogram bin, amount)
_TASKS = [ROLLUP_COUNTS.index("tasks_met"), ROLLUP_COUNTS.index("tasks_missed")]
_DEPARTMENT = list(DIMENSIONS).index("department")


def counts(f: Facts) -> list[int]:
    """One complaint's contribution to each of ROLLUP_COUNTS, as the raw KPI query counts it."""
    return [rule.python(f) for _, rule in kpi_counts.RULES]


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


def _bins(facts: Facts | None, sign: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """The complaint's (to-yes, claimed-to-yes) histogram entries, each a list of 0 or 1."""
    yes, gap = (
        [] if facts is None or facts[c] is None else [(sketch.bin_of(facts[c]), sign)]
        for c in ("hours_to_confirmation", "hours_claimed_to_confirmed")
    )
    return yes, gap


@dataclass
class Changes:
    """The summed change of each rollup row a batch touches: row i is `rows[i]`, its counts
    `counts[i]` (in ROLLUP_COUNTS order), its histogram entries `to_yes[i]` and `gap[i]`."""

    rows: list[RowKey]
    counts: npt.NDArray[np.int64]
    to_yes: dict[int, dict[int, int]] = field(default_factory=dict)
    gap: dict[int, dict[int, int]] = field(default_factory=dict)


class Delta:
    """The records of a batch; `changes()` sums them per rollup row."""

    def __init__(self) -> None:
        self._keys: list[tuple[str, ...]] = []  # per record, its key in each of DIMENSIONS
        self._days: list[date] = []
        self._values: list[list[int]] = []
        self._bins: list[tuple[int, Pairs, Pairs]] = []  # (record, to-yes entries, gap entries)
        self._tasks: list[tuple[str, date, int, int]] = []  # (department, day, count, sign)

    def move(
        self, before: tuple[Facts | None, Sequence[Facts]], after: tuple[Facts, Sequence[Facts]]
    ) -> None:
        """Move a complaint's contribution from what it was (before) to what it is (after)."""
        old, new = signature(*before), signature(*after)
        if old == new:
            return
        if old is None or new is None or (old[0], old[1], old[5]) != (new[0], new[1], new[5]):
            self.add(*before, sign=-1, values=old[2] if old else None)
            self.add(*after, sign=1, values=new[2] if new else None)
            return
        # The same rows before and after (the usual case): add the difference once per row.
        values = [b - a for a, b in zip(old[2], new[2], strict=True)]
        (yes_old, gap_old), (yes_new, gap_new) = _bins(before[0], -1), _bins(after[0], 1)
        to_yes = [] if yes_old == [(b, -1) for b, _ in yes_new] else yes_old + yes_new
        gap = [] if gap_old == [(b, -1) for b, _ in gap_new] else gap_old + gap_new
        self._record(after[0], values, to_yes, gap)

    def add(
        self,
        facts: Facts | None,
        tasks: Sequence[Facts],
        sign: int = 1,
        values: Sequence[int] | None = None,
    ) -> None:
        """Add (sign 1) or take away (-1) a complaint's whole contribution (`values`: its
        counts, when known)."""
        if facts is None or facts["received_at"] is None:
            return
        values = counts(facts) if values is None else values
        self._record(facts, [sign * v for v in values], *_bins(facts, sign))
        day = as_utc(facts["received_at"]).date()
        for task in _done(tasks):
            column = _TASKS[0 if task["met_sla"] is True else 1]
            self._tasks.append((key_of(task["department"]), day, column, sign))

    def _record(self, facts: Facts, values: list[int], to_yes: Pairs, gap: Pairs) -> None:
        if not any(values) and not to_yes and not gap:
            return
        if to_yes or gap:
            self._bins.append((len(self._keys), to_yes, gap))
        self._keys.append(tuple(key_of(facts[c]) if c else "" for c in DIMENSIONS.values()))
        self._days.append(as_utc(facts["received_at"]).date())
        self._values.append(values)

    def changes(self) -> Changes:
        """The summed change of every rollup row the records touch (some may be zero)."""
        rows: dict[RowKey, int] = {}
        blocks = [np.zeros((0, len(ROLLUP_COUNTS)), dtype=np.int64)]
        days = self._days
        if days:
            values = np.array(self._values, dtype=np.int64)
            # Tasks count for their own department (see add), not the complaint's first one.
            own = values.copy()
            own[:, _TASKS] = 0
            grains = ((DAY, *_factorize(days)), (MONTH, *_factorize(_months(days))))
            for position, dimension in enumerate(DIMENSIONS):
                codes, keys = _factorize(k[position] for k in self._keys)
                summed = own if position == _DEPARTMENT else values
                for grain, period_codes, periods in grains:
                    pairs, sums = _sums(codes * len(periods) + period_codes, summed)
                    for pair in pairs:
                        key, period = keys[pair // len(periods)], periods[pair % len(periods)]
                        rows[(dimension, grain, period, key)] = len(rows)
                    blocks.append(sums)
        tasks: dict[RowKey, list[tuple[int, int]]] = {}
        for department, day, column, sign in self._tasks:
            for grain, period in ((DAY, day), (MONTH, day.replace(day=1))):
                tasks.setdefault(("department", grain, period, department), []).append(
                    (column, sign)
                )
        extra = [row for row in tasks if row not in rows]
        rows.update((row, len(rows) + n) for n, row in enumerate(extra))
        blocks.append(np.zeros((len(extra), len(ROLLUP_COUNTS)), dtype=np.int64))
        changes = Changes(list(rows), np.vstack(blocks))
        for row, entries in tasks.items():
            for column, sign in entries:
                changes.counts[rows[row], column] += sign
        for record, to_yes, gap in self._bins:
            day = days[record]
            for grain, period in ((DAY, day), (MONTH, day.replace(day=1))):
                for dimension, key in zip(DIMENSIONS, self._keys[record], strict=True):
                    at = rows[(dimension, grain, period, key)]
                    _add(changes.to_yes.setdefault(at, {}), to_yes)
                    _add(changes.gap.setdefault(at, {}), gap)
        return changes


def _add(histogram: dict[int, int], entries: Pairs) -> None:
    for index, amount in entries:
        histogram[index] = histogram.get(index, 0) + amount


def _months(days: list[date]) -> list[date]:
    return [d.replace(day=1) for d in days]


def _factorize(values: Iterable[Hashable]) -> tuple[npt.NDArray[np.int64], list[Any]]:
    """(each value's code, the distinct values in order of first appearance)."""
    index: dict[Any, int] = {}
    codes = [index.setdefault(v, len(index)) for v in values]
    return np.array(codes, dtype=np.int64), list(index)


def _sums(
    codes: npt.NDArray[np.int64], values: npt.NDArray[np.int64]
) -> tuple[list[int], npt.NDArray[np.int64]]:
    """(the distinct codes, the values summed per code)."""
    distinct, inverse = np.unique(codes, return_inverse=True)
    sums = np.zeros((len(distinct), values.shape[1]), dtype=np.int64)
    np.add.at(sums, inverse, values)
    return distinct.tolist(), sums
