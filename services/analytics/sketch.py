"""Mergeable duration histograms with a 1% relative-error bound (the DDSketch mapping).

With gamma = (1 + a) / (1 - a) and a = 1%, a duration of v hours goes to bin ceil(log_gamma v):
every value of bin i lies in (gamma^(i-1), gamma^i], and the bin's representative
2 gamma^i / (gamma + 1) is within a of each of them. Durations under `FLOOR` hours (and negative
ones) share bin `ZERO`, represented as 0. Histograms are sparse (bin, count) pairs of int32,
packed as bytes so that rollup rows carry them and many merge at once with numpy.
"""

import math
import sys
from array import array
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

ALPHA = 0.01
GAMMA = (1 + ALPHA) / (1 - ALPHA)
_LOG_GAMMA = math.log(GAMMA)
FLOOR = 0.001  # hours (3.6 s)
ZERO = -(2**20)
Histogram = Counter[int]
Dense = npt.NDArray[np.int64]
_SWAP = sys.byteorder != "little"  # blobs are little-endian int32 pairs
_INT32 = next(code for code in "ihl" if array(code).itemsize == 4)


def bin_of(hours: float) -> int:
    return ZERO if hours < FLOOR else math.ceil(math.log(hours) / _LOG_GAMMA)


def value_of(index: int | npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    values = 2 * np.power(GAMMA, np.asarray(index, dtype=np.float64)) / (GAMMA + 1)
    return np.where(np.asarray(index) == ZERO, 0.0, values)


def encode(histogram: Mapping[int, int]) -> bytes:
    pairs = sorted((b, n) for b, n in histogram.items() if n)
    return np.asarray(pairs, dtype="<i4").tobytes()


def decode(blob: bytes | None) -> Histogram:
    pairs = np.frombuffer(blob or b"", dtype="<i4").reshape(-1, 2)
    return Counter(dict(zip(pairs[:, 0].tolist(), pairs[:, 1].tolist(), strict=True)))


def merge(blob: bytes, change: Mapping[int, int]) -> bytes:
    """A packed histogram plus (or minus) some counts, packed again without its empty bins.

    A change touches a few bins of a histogram of hundreds: each is found by bisection and
    updated, inserted or removed in place (no unpacking into a dict, no numpy call per merge).
    """
    pairs = array(_INT32)
    pairs.frombytes(blob)
    if _SWAP:
        pairs.byteswap()
    bins = pairs[0::2]
    for index, amount in sorted(change.items()):
        if not amount:
            continue
        at = bisect_left(bins, index)
        if at < len(bins) and bins[at] == index:
            total = pairs[2 * at + 1] + amount
            if total:
                pairs[2 * at + 1] = total
            else:
                del pairs[2 * at : 2 * at + 2]
                del bins[at]
        else:
            pairs[2 * at : 2 * at] = array(_INT32, (index, amount))
            bins.insert(at, index)
    if _SWAP:
        pairs.byteswap()
    return pairs.tobytes()


class Merger:
    """Adds many packed histograms into one histogram per group, then reads percentiles."""

    def __init__(self) -> None:
        self._groups: dict[Any, int] = {}
        self._blobs: list[bytes] = []
        self._owners: list[int] = []

    def add(self, group: Any, blob: bytes | None) -> None:
        if blob:
            self._blobs.append(blob)
            self._owners.append(self._groups.setdefault(group, len(self._groups)))

    def add_many(self, groups: Sequence[Any], blobs: Sequence[bytes | None]) -> None:
        number = self._groups.setdefault
        for group, blob in zip(groups, blobs, strict=True):
            if blob:
                self._blobs.append(blob)
                self._owners.append(number(group, len(self._groups)))

    def add_values(self, group: Any, hours: Iterable[float]) -> None:
        self.add(group, encode(Counter(map(bin_of, hours))))

    def percentiles(
        self, qs: Sequence[float]
    ) -> tuple[dict[Any, list[float | None]], list[float | None]]:
        """(per group, of all groups together) each q-th percentile, interpolated linearly
        between the closest ranks."""
        out: dict[Any, list[float | None]] = {g: [None] * len(qs) for g in self._groups}
        if not self._blobs:
            return out, [None] * len(qs)
        lengths = np.array([len(b) for b in self._blobs], dtype=np.int64) // 8
        pairs = np.frombuffer(b"".join(self._blobs), dtype="<i4").reshape(-1, 2)
        owners = np.repeat(np.asarray(self._owners, dtype=np.int64), lengths)
        bins = pairs[:, 0].astype(np.int64)
        zero = bins == ZERO
        low = int(bins[~zero].min()) - 1 if not zero.all() else 0
        columns = np.where(zero, 0, bins - low)  # column 0 is the zero bin
        width = int(columns.max()) + 1
        flat = np.bincount(
            owners * width + columns, weights=pairs[:, 1], minlength=len(self._groups) * width
        )
        dense: Dense = flat.astype(np.int64).reshape(len(self._groups), width)
        bins = np.arange(width, dtype=np.int64) + low
        bins[0] = ZERO
        values = value_of(bins.astype(np.int64))
        every = np.vstack([dense, dense.sum(axis=0)])  # the groups, then all of them together
        table = _percentiles(every, values, qs)
        for group, row in self._groups.items():
            out[group] = table[row]
        return out, table[-1]


def _percentiles(
    counts: Dense, values: npt.NDArray[np.float64], qs: Sequence[float]
) -> list[list[float | None]]:
    """Each row's q-th percentiles: the values at the two closest ranks, interpolated."""
    ends = np.cumsum(counts, axis=1)
    totals = ends[:, -1]
    columns = []
    for q in qs:
        position = (np.maximum(totals, 1) - 1) * q
        low, high = np.floor(position), np.ceil(position)
        # The first bin whose running count exceeds the rank holds the value of that rank.
        at_low = values[(ends <= low[:, None]).sum(axis=1)]
        at_high = values[(ends <= high[:, None]).sum(axis=1)]
        columns.append(np.round(at_low + (at_high - at_low) * (position - low), 2))
    return [
        [float(column[row]) for column in columns] if totals[row] else [None] * len(qs)
        for row in range(len(totals))
    ]
