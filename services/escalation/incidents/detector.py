"""Incident detection: recent counts per pattern key against a baseline learned from history.

State per key is fixed in size whatever the history: a ring of the last `window_buckets` time
buckets, and an exponentially weighted mean and variance of the buckets that left the ring.
So the cost of observing one complaint is constant as history grows. Pure: no I/O.
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import Field, field_validator, model_validator

from services.escalation.catalogue.entries import Catalogue
from services.escalation.config_model import ConfigModel, table_rule, validate
from services.escalation.incidents.cross_section import CROSS_PATTERNS, CrossConfig

PATTERNS: dict[str, tuple[str, str]] = {
    "product+region": ("product", "region"),
    "product+category": ("product", "category"),
    "category+region": ("category", "region"),
}
# After this many empty buckets a key's baseline is as low as it gets; folding more is wasted.
MAX_FOLD = 512


class DetectorConfig(ConfigModel):
    """The [detector] table of config/escalation.toml (its catalogue is set at start)."""

    bucket_minutes: int = Field(default=60, ge=1)
    window_buckets: int = Field(default=6, ge=1)
    alpha: float = Field(default=0.02, gt=0, lt=1)
    warmup_buckets: int = Field(default=24, ge=1)
    min_count: int = Field(default=6, ge=1)
    min_ratio: float = Field(default=3.0, gt=0)
    min_z: float = Field(default=4.0, gt=0)
    variance_floor: float = Field(default=0.25, gt=0)
    patterns: tuple[str, ...] = Field(default=tuple(PATTERNS), min_length=1, strict=False)
    # Canonical values, aliases and region neighbours (config/catalogue.toml), set at start.
    catalogue: Catalogue = Field(default_factory=Catalogue, exclude=True)
    cross: CrossConfig = Field(default_factory=CrossConfig, alias="cross_sectional")

    @model_validator(mode="before")
    @classmethod
    def _not_here(cls, document: Any) -> Any:
        if isinstance(document, Mapping) and "neighbours" in document:
            raise table_rule("neighbours are the catalogue's now (config/catalogue.toml)")
        if isinstance(document, Mapping) and "catalogue" in document:
            raise table_rule("the catalogue is its own file now (config/catalogue.toml)")
        return document

    @field_validator("patterns")
    @classmethod
    def _known(cls, patterns: tuple[str, ...]) -> tuple[str, ...]:
        if any(p not in PATTERNS for p in patterns):
            raise ValueError(f"must be among {', '.join(PATTERNS)}")
        return patterns

    @model_validator(mode="after")
    def _cross_within(self) -> "DetectorConfig":
        allowed = [p for p in CROSS_PATTERNS if p in self.patterns]
        if any(p not in allowed for p in self.cross.patterns):
            raise table_rule(f"cross_sectional patterns must be among {', '.join(allowed)}")
        return self

    def bucket_of(self, at: datetime) -> int:
        return int(at.astimezone(UTC).timestamp() // (self.bucket_minutes * 60))

    @property
    def window(self) -> timedelta:
        return timedelta(minutes=self.bucket_minutes * self.window_buckets)


@dataclass(frozen=True)
class KeyState:
    """One pattern key: the ring of recent bucket counts (newest last) and the baseline."""

    bucket: int
    counts: tuple[int, ...]
    mean: float = 0.0
    var: float = 0.0
    folded: int = 0

    @property
    def recent(self) -> int:
        return sum(self.counts)


@dataclass(frozen=True)
class Crossing:
    recent: int
    expected: float
    ratio: float
    z: float


def pattern_key(pattern: str, values: Mapping[str, str | None]) -> dict[str, str] | None:
    """The pattern's dimension values for a complaint; None when one is missing."""
    dims = PATTERNS[pattern]
    picked = {dim: (values.get(dim) or "").strip() for dim in dims}
    return picked if all(picked.values()) else None


def key_name(pattern: str, dims: Mapping[str, str]) -> str:
    return pattern + ":" + "|".join(dims[d].casefold() for d in PATTERNS[pattern])


def fresh(bucket: int, started_bucket: int, config: DetectorConfig) -> KeyState:
    """A key seen for the first time had zero complaints since the detector started."""
    return KeyState(
        bucket=bucket,
        counts=(0,) * config.window_buckets,
        folded=min(max(bucket - started_bucket, 0), MAX_FOLD),
    )


def advance(state: KeyState, bucket: int, config: DetectorConfig) -> KeyState:
    """Move the ring forward to `bucket`, folding the buckets that leave it into the baseline."""
    shift = bucket - state.bucket
    if shift <= 0:
        return state
    leaving = list(state.counts[: min(shift, len(state.counts))])
    leaving += [0] * min(shift - len(leaving), MAX_FOLD)
    mean, var, folded = state.mean, state.var, state.folded
    for value in leaving:
        # Plain average while history is short, exponentially weighted once it is long enough.
        weight = max(config.alpha, 1.0 / (folded + 1))
        diff = value - mean
        mean += weight * diff
        var = (1 - weight) * (var + weight * diff * diff)
        folded += 1
    kept = state.counts[min(shift, len(state.counts)) :]
    counts = kept + (0,) * (config.window_buckets - len(kept))
    return KeyState(bucket, counts, mean, var, folded)


def observe(state: KeyState, bucket: int, config: DetectorConfig) -> KeyState:
    """Count one complaint of event-time `bucket`; late ones outside the ring are not counted."""
    state = advance(state, bucket, config)
    offset = state.bucket - bucket
    if offset >= config.window_buckets:
        return state
    counts = list(state.counts)
    counts[-1 - offset] += 1
    return replace(state, counts=tuple(counts))


def crossing(state: KeyState, config: DetectorConfig) -> Crossing | None:
    """The evidence when recent counts are beyond the baseline by every configured threshold."""
    if state.folded < config.warmup_buckets:
        return None
    recent, n = state.recent, config.window_buckets
    expected = state.mean * n
    # Counts are at least Poisson-noisy: the variance is never taken below the mean.
    sd = math.sqrt(max(state.var, state.mean, config.variance_floor) * n)
    ratio = recent / expected if expected > 0 else math.inf
    z = (recent - expected) / sd
    if recent >= config.min_count and ratio >= config.min_ratio and z >= config.min_z:
        return Crossing(recent, round(expected, 3), round(ratio, 2), round(z, 2))
    return None


def parse_config(document: Mapping[str, Any]) -> DetectorConfig:
    """The [detector] table of config/escalation.toml; ValueError says what is wrong."""
    config: DetectorConfig = validate(DetectorConfig, document, ("detector",))
    return config
