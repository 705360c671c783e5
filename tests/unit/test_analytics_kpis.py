"""KPI arithmetic on small known sets: ratios, percentiles as percentile_cont, totals, nulls."""

from services.analytics.kpi.rules import (
    DEFINITIONS,
    Durations,
    Tally,
    durations,
    metrics,
    percentile,
    ratio,
    report,
)
from services.analytics.schemas import Kpis


def test_ratio_rounds_to_four_places_and_is_null_without_a_denominator() -> None:
    assert ratio(1, 2) == 0.5
    assert ratio(2, 3) == 0.6667
    assert ratio(0, 0) is None


def test_percentile_interpolates_like_postgres_percentile_cont() -> None:
    assert percentile([5.0, 1.0, 9.0], 0.5) == 5.0
    assert percentile([5.0, 9.0], 0.5) == 7.0
    assert percentile([12.0, 30.0, 40.0], 0.9) == 38.0
    assert percentile([12.0, 40.0], 0.9) == 37.2
    assert percentile([30.0], 0.9) == 30.0
    assert percentile([], 0.5) is None


def test_totals_are_sums_of_tallies_and_percentiles_over_all_values() -> None:
    tallies: dict[str | None, Tally] = {
        "email": Tally(received=2, closed_confirmed=2, attested=1, reopened=1, proposed=2),
        None: Tally(received=1, tasks_met=1, tasks_missed=3, under_1d=1),
    }
    times: dict[str | None, Durations] = {"email": durations([1.0, 3.0], [])}
    groups, totals = report(tallies, times, durations([1.0, 3.0, 100.0], [2.0]))
    assert [g["key"] for g in groups] == ["email", None]
    assert groups[0]["attested_share"] == 0.5 and groups[0]["median_hours_to_confirmation"] == 2.0
    assert groups[1]["median_hours_to_confirmation"] is None
    assert groups[1]["department_sla_compliance"] == 0.25
    assert totals["received"] == 3 and totals["reopen_rate"] == 0.5
    assert totals["median_hours_to_confirmation"] == 3.0
    assert totals["median_hours_claimed_to_confirmed"] == 2.0
    assert totals["unconfirmed_backlog"]["under_1d"] == 1


def test_nothing_received_reports_zeros_and_nulls() -> None:
    groups, totals = report({}, {}, Durations())
    assert groups == []
    assert totals == metrics(Tally(), Durations())
    assert totals["reopen_rate"] is None and totals["received"] == 0


def test_every_metric_is_defined_in_the_api_and_the_openapi_descriptions() -> None:
    assert set(DEFINITIONS) == set(metrics(Tally(), Durations()))
    for name, field in Kpis.model_fields.items():
        assert field.description == DEFINITIONS[name]
