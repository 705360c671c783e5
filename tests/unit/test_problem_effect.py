"""The measure of a fix's effect: the rate before the problem began, the exposure after it."""

import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from services.escalation.incidents.detector import DetectorConfig
from services.escalation.ladder import ProblemRules, parse_config
from services.escalation.problems import effect_measure

SHIPPED = Path(__file__).resolve().parents[2] / "config" / "escalation.toml"
ONSET = datetime(2026, 3, 1, tzinfo=UTC)
FIXED = ONSET + timedelta(days=2)
HOURLY = DetectorConfig(bucket_minutes=60, window_buckets=6)


def counts(times: list[datetime]) -> dict[int, int]:
    found: dict[int, int] = {}
    for at in times:
        found[HOURLY.bucket_of(at)] = found.get(HOURLY.bucket_of(at), 0) + 1
    return found


def daily(start: datetime, days: int, per_day: int) -> list[datetime]:
    step = timedelta(days=1) / per_day
    return [start + step * i for i in range(days * per_day)]


def measure(history: dict[int, int], as_of: datetime, **rules: Any) -> effect_measure.Effect:
    return effect_measure.measure(
        history,
        onset=ONSET,
        fixed_at=FIXED,
        as_of=as_of,
        baseline=rules.pop("baseline", None),
        rules=ProblemRules(**rules),
        config=HOURLY,
    )


def test_the_burst_is_not_the_before() -> None:
    # Four a day for the week before the onset, then a burst of 60 that dies down by itself.
    usual = daily(ONSET - timedelta(days=7), 7, 4)
    spike = [ONSET + timedelta(minutes=5 * i) for i in range(60)]
    after = daily(FIXED, 7, 3)
    measured = measure(counts(usual + spike + after), FIXED + timedelta(days=7))
    assert measured == effect_measure.Effect(4.0, 3.0, False)


def test_a_fix_that_halves_the_usual_rate_is_shown() -> None:
    usual = daily(ONSET - timedelta(days=7), 7, 4)
    after = daily(FIXED, 7, 1)
    assert measure(counts(usual + after), FIXED + timedelta(days=9)).shown


def test_a_recorded_baseline_is_the_before() -> None:
    after = daily(FIXED, 7, 2)
    assert measure(counts(after), FIXED + timedelta(days=7), baseline=5.0) == effect_measure.Effect(
        5.0, 2.0, True
    )
    assert not measure(counts(after), FIXED + timedelta(days=7), baseline=3.0).shown


def test_the_after_window_is_the_exposure_so_far_up_to_the_period() -> None:
    after = daily(FIXED, 10, 2)
    rules = {"period_days": 7, "min_after_days": 3, "baseline": 8.0}
    assert measure(counts(after), FIXED + timedelta(days=4), **rules).rate_after == 2.0
    assert measure(counts(after), FIXED + timedelta(days=10), **rules).rate_after == 2.0
    assert effect_measure.measurable_at(FIXED, ProblemRules(min_after_days=3)) == FIXED + timedelta(
        3
    )
    with pytest.raises(ValueError, match="min_after_days"):
        measure(counts(after), FIXED + timedelta(days=2), **rules)


def test_an_incidents_expected_window_count_is_a_daily_rate() -> None:
    assert effect_measure.baseline_per_day(1.5, HOURLY) == 6.0


def test_the_shipped_problem_settings() -> None:
    rules = parse_config(tomllib.loads(SHIPPED.read_text(encoding="utf-8"))).problems
    assert (rules.min_after_days, rules.period_days, rules.clock_skew_seconds) == (7, 7, 300)


@pytest.mark.parametrize(
    "problems",
    [{"min_after_days": 0}, {"min_after_days": 8}, {"clock_skew_seconds": -1}, {"after": 3}],
)
def test_invalid_problem_settings_are_refused(problems: dict[str, Any]) -> None:
    document = tomllib.loads(SHIPPED.read_text(encoding="utf-8"))
    document["problems"] = {**document["problems"], **problems}
    with pytest.raises(ValueError, match=r"\[problems\]"):
        parse_config(document)
