"""Mergeable duration histograms with a 1% relative-error bound (the DDSketch mapping).

With gamma = (1 + a) / (1 - a) and a = 1%, a duration of v hours goes to bin ceil(log_gamma v):
every value of bin i lies in (gamma^(i-1), gamma^i], and the bin's representative
2 gamma^i / (gamma + 1) is within a of each of them. Durations under `FLOOR` hours (and negative
ones) share bin `ZERO`, represented as 0. Histograms are sparse (bin, count) pairs of int32,
packed as bytes so that rollup rows carry them and many merge at once with numpy.
"""

import itertools
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
        self._blobs: list[list[bytes]] = []  # by group number

    def add(self, group: Any, blob: bytes | None) -> None:
        self.add_many([group], [blob])

    def add_many(self, groups: Sequence[Any], blobs: Sequence[bytes | None]) -> None:
        numbers, lists = self._groups, self._blobs
        for group, blob in zip(groups, blobs, strict=True):
            if blob:
                number = numbers.get(group)
                if number is None:
                    number = numbers[group] = len(lists)
                    lists.append([])
                lists[number].append(blob)

    def add_values(self, group: Any, hours: Iterable[float]) -> None:
        self.add(group, encode(Counter(map(bin_of, hours))))

    def percentiles(
        self, qs: Sequence[float]
    ) -> tuple[dict[Any, list[float | None]], list[float | None]]:
        """(per group, of all groups together) each q-th percentile, interpolated linearly
        between the closest ranks."""
        if not self._blobs:
            return {}, [None] * len(qs)
        # Merged piece by piece, each piece some whole histograms, group after group: merging a
        # year of 400 owners' months (800,000 pairs) at once took 17 MB of temporary arrays,
        # which went back to the system after each request and were page-faulted in again at
        # the next (twice the merging time).
        blobs = list(itertools.chain.from_iterable(self._blobs))
        groups = np.repeat(np.arange(len(self._blobs)), [len(b) for b in self._blobs])
        sizes = np.fromiter(map(len, blobs), np.int64, len(blobs)) // 8  # pairs of each
        ends = np.cumsum(sizes)
        # A piece ends with the histogram that reaches the next multiple of _PIECE pairs.
        cuts = np.searchsorted(ends, np.arange(_PIECE, ends[-1], _PIECE)) + 1
        blocks = [
            (groups[a], _merged(blobs[a:b], groups[a:b] - groups[a], sizes[a:b]))
            for a, b in itertools.pairwise([0, *np.unique(cuts).tolist(), len(blobs)])
            if a < b
        ]
        every = np.zeros((len(self._blobs) + 1, max(b.shape[1] for _, b in blocks)), np.int64)
        for first, block in blocks:
            every[first : first + len(block), : block.shape[1]] += block
        every[-1] = every[:-1].sum(axis=0)  # the groups, then all of them together
        # The zero bin's column and those of the bins in use (empty ones change no rank).
        columns = np.concatenate(([0], np.flatnonzero(every[-1, 1:]) + 1))
        bins = columns + _BELOW
        bins[0] = ZERO
        table = _percentiles(every[:, columns], value_of(bins), qs)
        return {group: table[row] for group, row in self._groups.items()}, table[-1]


_PIECE = 1 << 14  # pairs merged at once: from 8,000 to 32,000, a year by owner merged fastest
_BELOW = bin_of(FLOOR) - 1  # under every bin but the zero bin (bin_of increases with hours)


def _merged(
    blobs: list[bytes], groups: npt.NDArray[np.int64], sizes: npt.NDArray[np.int64]
) -> Dense:
    """The histograms added up by group (numbered from 0, in order), one row per group:
    column 0 counts the zero bin, column c > 0 bin _BELOW + c."""
    pairs = np.frombuffer(b"".join(blobs), dtype="<i4")
    columns = np.maximum(pairs[0::2], _BELOW)
    columns -= _BELOW
    width = int(columns.max()) + 1
    cells = np.repeat(groups * width, sizes)
    cells += columns
    flat = np.bincount(cells, weights=pairs[1::2], minlength=(int(groups[-1]) + 1) * width)
    return flat.astype(np.int64).reshape(-1, width)


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
