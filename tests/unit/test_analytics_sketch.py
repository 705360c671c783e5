"""Duration histograms: within 1% of the exact percentiles, mergeable, packed losslessly."""

import random
from collections import Counter
from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.analytics.kpi import sketch
from services.analytics.kpi.periods import Split, split
from services.analytics.kpi.rules import percentile

hours = st.floats(min_value=0, max_value=20_000, allow_nan=False)


@given(st.lists(st.lists(hours, max_size=40), min_size=1, max_size=5))
def test_merged_percentiles_are_within_one_percent_of_the_exact_ones(
    parts: list[list[float]],
) -> None:
    merger = sketch.Merger()
    for number, values in enumerate(parts):
        merger.add_values(number % 2, values)  # two groups, each merged from several parts
    by_group, total = merger.percentiles([0.5, 0.9])
    every = [v for values in parts for v in values]
    for got, q in zip(total, (0.5, 0.9), strict=True):
        exact = percentile(every, q)
        if exact is None:
            assert got is None
        else:
            assert got is not None and abs(got - exact) <= 0.01 * exact + sketch.FLOOR + 0.01
    for group in by_group:
        values = [v for n, vs in enumerate(parts) if n % 2 == group for v in vs]
        exact = percentile(values, 0.5)
        got = by_group[group][0]
        assert (exact is None) == (got is None)


def test_many_groups_merge_piece_by_piece_into_the_percentiles_of_their_bins(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Whatever the size of the pieces merged at once, each group's percentiles are those of the
    values its bins represent, and the total's those of every group's."""
    rng = random.Random(5)
    histograms, represented = [], {}
    for group in range(300):
        values = []
        for _ in range(rng.randrange(1, 4)):  # a group's histograms, some with the zero bin
            histogram = Counter(
                sketch.bin_of(rng.choice([0.0, 1e-4, 0.5, 3.0, 9000.0])) for _ in range(3)
            )
            histogram.update(
                sketch.bin_of(rng.lognormvariate(3, 1.5)) for _ in range(rng.randrange(40))
            )
            histograms.append((group, sketch.encode(histogram)))
            values += [float(sketch.value_of(b)) for b, n in histogram.items() for _ in range(n)]
        represented[group] = values
    rng.shuffle(histograms)  # as rollup rows come: the groups' histograms interleaved
    merger = sketch.Merger()
    merger.add_many([g for g, _ in histograms], [h for _, h in histograms])
    merger.add("nothing", None)  # an empty histogram adds no group
    expected = {g: [percentile(v, 0.5), percentile(v, 0.9)] for g, v in represented.items()}
    every = [v for values in represented.values() for v in values]
    for pairs in (1, 100, 1 << 30):  # a histogram at a time (a group's in pieces), a few, all
        monkeypatch.setattr(sketch, "_PIECE", pairs)
        by_group, total = merger.percentiles([0.5, 0.9])
        assert by_group.keys() == expected.keys()
        for group, wanted in expected.items():
            assert by_group[group] == pytest.approx(wanted, abs=0.011), group
        assert total == pytest.approx([percentile(every, 0.5), percentile(every, 0.9)], abs=0.011)


def test_histograms_pack_and_unpack_losslessly() -> None:
    histogram = Counter({sketch.bin_of(v): 2 for v in (0.0, 0.5, 3.0, 48.0, 9000.0)})
    assert sketch.decode(sketch.encode(histogram)) == histogram
    assert sketch.decode(sketch.encode(Counter())) == Counter()
    assert sketch.bin_of(0.0) == sketch.bin_of(-3.0) == sketch.ZERO


def test_a_bin_represents_its_values_within_one_percent() -> None:
    for value in (0.002, 0.5, 1.0, 7.25, 48.0, 333.3, 8760.0):
        represented = float(sketch.value_of(sketch.bin_of(value)))
        assert abs(represented - value) <= sketch.ALPHA * value


def at(day: int, hour: int = 0, month: int = 1) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def test_a_period_splits_into_partial_days_whole_days_and_whole_months() -> None:
    assert split(at(3, 9), at(3, 17)) == Split(raw=[(at(3, 9), at(3, 17))])
    assert split(at(20, 6), at(14, 12, month=4)) == Split(
        raw=[(at(20, 6), at(21)), (at(14, month=4), at(14, 12, month=4))],
        days=[(date(2026, 1, 21), date(2026, 2, 1)), (date(2026, 4, 1), date(2026, 4, 14))],
        months=(date(2026, 2, 1), date(2026, 4, 1)),
    )
    assert split(at(1), at(1, month=3)) == Split(months=(date(2026, 1, 1), date(2026, 3, 1)))
    # Weeks are made of days, never of months.
    assert split(at(1), at(1, month=3), months=False) == Split(
        days=[(date(2026, 1, 1), date(2026, 3, 1))]
    )
    assert split(at(5), at(5)) == Split()
    whole = split(None, None)
    assert whole.raw == [] and whole.months is not None


@given(
    st.dictionaries(st.integers(-400, 700), st.integers(1, 50)),
    st.dictionaries(st.integers(-400, 700), st.integers(-50, 50)),
)
def test_merging_a_change_into_a_packed_histogram_adds_the_counts(
    histogram: dict[int, int], change: dict[int, int]
) -> None:
    change = {b: max(n, -histogram.get(b, 0)) for b, n in change.items()}  # never below zero
    expected = Counter(histogram)
    expected.update(change)
    merged = sketch.decode(sketch.merge(sketch.encode(histogram), change))
    assert merged == Counter({b: n for b, n in expected.items() if n})
    assert all(merged.values())
