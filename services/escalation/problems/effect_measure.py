"""Root-cause rules and the measure of a fix's effect: pure, no I/O."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.escalation.incidents.detector import DetectorConfig
from services.escalation.ladder import ProblemRules


class AnalysisRejected(ValueError):
    pass


@dataclass(frozen=True)
class Hypothesis:
    cause: str
    explains_is: bool
    explains_is_not: bool


def most_probable_cause(hypotheses: Sequence[Hypothesis], chosen: str) -> str:
    """The chosen cause must be a hypothesis that explains both the IS and the IS NOT facts."""
    for hypothesis in hypotheses:
        if hypothesis.cause == chosen:
            if not (hypothesis.explains_is and hypothesis.explains_is_not):
                raise AnalysisRejected(
                    f"{chosen!r} does not explain both what the pattern is and what it is not"
                )
            return chosen
    raise AnalysisRejected(f"{chosen!r} is not one of the hypotheses tested")


@dataclass(frozen=True)
class Effect:
    rate_before: float
    rate_after: float
    shown: bool


DAY = timedelta(days=1)


def baseline_per_day(expected_in_window: float, config: DetectorConfig) -> float:
    """An incident's expected count over the detector window, as complaints a day."""
    return expected_in_window * (DAY / config.window)


def before_buckets(onset: datetime, rules: ProblemRules, config: DetectorConfig) -> range:
    """Detector buckets of the `period_days` before the problem began."""
    start = config.bucket_of(onset - timedelta(days=rules.period_days))
    return range(start, config.bucket_of(onset))


def after_days(fixed_at: datetime, as_of: datetime, rules: ProblemRules) -> float:
    """Days after the fix that are counted: those elapsed by `as_of`, at most `period_days`."""
    return min((as_of - fixed_at) / DAY, rules.period_days)


def measurable_at(fixed_at: datetime, rules: ProblemRules) -> datetime:
    """The effect needs `min_after_days` of exposure after the fix before it can be judged."""
    return fixed_at + timedelta(days=rules.min_after_days)


def measure(
    counts: Mapping[int, int],
    *,
    onset: datetime,
    fixed_at: datetime,
    as_of: datetime,
    baseline: float | None,
    rules: ProblemRules,
    config: DetectorConfig,
) -> Effect:
    """Complaints a day before the problem began (the recorded baseline, else those counted in
    the period before the onset) and after the fix; shown only when the rate fell as required
    over at least the minimum exposure."""
    if as_of < measurable_at(fixed_at, rules):
        raise ValueError("the effect cannot be measured before min_after_days have passed")
    if baseline:
        rate_before = baseline
    else:
        before = before_buckets(onset, rules, config)
        rate_before = sum(counts.get(b, 0) for b in before) / rules.period_days
    days = after_days(fixed_at, as_of, rules)
    after = range(config.bucket_of(fixed_at), config.bucket_of(fixed_at + timedelta(days=days)))
    rate_after = sum(counts.get(b, 0) for b in after) / days
    shown = rate_before > 0 and rate_after <= rate_before * (1 - rules.required_reduction)
    return Effect(round(rate_before, 3), round(rate_after, 3), shown)
