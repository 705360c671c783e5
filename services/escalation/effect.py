"""Root-cause rules and the measure of a fix's effect: pure, no I/O."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.escalation.detector import DetectorConfig
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


def periods(fixed_at: datetime, rules: ProblemRules, config: DetectorConfig) -> tuple[range, range]:
    """Detector buckets of the period before the fix and of the same period after it."""
    period = timedelta(days=rules.period_days)
    fixed = config.bucket_of(fixed_at)
    start, end = config.bucket_of(fixed_at - period), config.bucket_of(fixed_at + period)
    return range(start, fixed), range(fixed, end)


def measure(
    counts: Mapping[int, int], fixed_at: datetime, rules: ProblemRules, config: DetectorConfig
) -> Effect:
    """Complaints a day before and after the fix; shown only when the rate fell as required."""
    before, after = periods(fixed_at, rules, config)
    rate_before = sum(counts.get(b, 0) for b in before) / rules.period_days
    rate_after = sum(counts.get(b, 0) for b in after) / rules.period_days
    shown = rate_before > 0 and rate_after <= rate_before * (1 - rules.required_reduction)
    return Effect(round(rate_before, 3), round(rate_after, 3), shown)


def measurable_at(fixed_at: datetime, rules: ProblemRules) -> datetime:
    return fixed_at + timedelta(days=rules.period_days)
