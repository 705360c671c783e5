"""KPI arithmetic on a small known set: rates, medians, totals and their null cases."""

from datetime import UTC, datetime, timedelta

from services.analytics.kpis import (
    DEFINITIONS,
    Tally,
    hours_between,
    median_hours,
    metrics,
    ratio,
    report,
)


def test_reopen_rate_is_reopened_over_proposed_and_null_without_proposals() -> None:
    assert ratio(1, 2) == 0.5
    assert ratio(2, 3) == 0.6667
    assert ratio(0, 0) is None


def test_median_of_odd_and_even_sets_and_none() -> None:
    assert median_hours([5.0, 1.0, 9.0]) == 5.0
    assert median_hours([5.0, 9.0]) == 7.0
    assert median_hours([]) is None


def test_hours_between_two_moments() -> None:
    start = datetime(2026, 11, 2, 9, tzinfo=UTC)
    assert hours_between(start, start + timedelta(hours=2, minutes=30)) == 2.5


def test_group_metrics_and_totals_on_a_known_set() -> None:
    tallies: dict[str | None, Tally] = {
        "email": Tally(
            received=2, closed_confirmed=2, rejected_resolutions=1, reopened=1, proposed=2
        ),
        "sms": Tally(
            received=2, closed_confirmed=0, rejected_resolutions=1, reopened=1, proposed=1
        ),
        None: Tally(received=1),
    }
    hours: dict[str | None, list[float]] = {"email": [5.0, 9.0]}
    groups, totals = report(tallies, hours)
    assert groups == [
        {
            "key": "email",
            "received": 2,
            "closed_confirmed": 2,
            "rejected_resolutions": 1,
            "reopen_rate": 0.5,
            "median_hours_to_confirmation": 7.0,
        },
        {
            "key": "sms",
            "received": 2,
            "closed_confirmed": 0,
            "rejected_resolutions": 1,
            "reopen_rate": 1.0,
            "median_hours_to_confirmation": None,
        },
        {
            "key": None,
            "received": 1,
            "closed_confirmed": 0,
            "rejected_resolutions": 0,
            "reopen_rate": None,
            "median_hours_to_confirmation": None,
        },
    ]
    assert totals == {
        "received": 5,
        "closed_confirmed": 2,
        "rejected_resolutions": 2,
        "reopen_rate": 0.6667,
        "median_hours_to_confirmation": 7.0,
    }


def test_totals_median_is_over_all_confirmed_not_a_median_of_medians() -> None:
    tallies: dict[str | None, Tally] = {"a": Tally(received=3), "b": Tally(received=1)}
    hours: dict[str | None, list[float]] = {"a": [1.0, 2.0, 3.0], "b": [100.0]}
    _, totals = report(tallies, hours)
    assert totals["median_hours_to_confirmation"] == 2.5


def test_nothing_received_reports_zeros_and_nulls() -> None:
    groups, totals = report({}, {})
    assert groups == []
    assert totals == metrics(Tally(), [])
    assert totals["reopen_rate"] is None and totals["received"] == 0


def test_every_metric_has_a_one_sentence_definition() -> None:
    assert set(DEFINITIONS) == set(metrics(Tally(), []))
    assert all(text.endswith(".") and text.count(". ") == 0 for text in DEFINITIONS.values())
