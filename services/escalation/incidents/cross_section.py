"""Cross-sectional detection: is a key unusual *now*, among the keys it could have been?

The temporal baseline compares a key with its own past, so a key without history (a fresh
deployment, a new product line) can never cross it. This one compares the key with its
siblings in the same window. For a product+region key (P, R) the window is cut in four: `a`
complaints about P in R, `row` about P in other regions, `col` about other products in R,
`rest` about other products in other regions. Two questions, both of which must say "unusual":

* along the region: is P's share of R's complaints, a / (a + col), beyond P's share of the
  other regions' complaints, row / (row + rest)?
* along the product: is R's share of P's complaints, a / (a + row), beyond R's share of the
  other products' complaints, col / (col + rest), i.e. of the overall recent rate elsewhere?

Each is an exact binomial tail (a out of a + col, or a + row, at the share seen elsewhere), so
thin counts are never mistaken for extremes; every share starts from `prior_count`
pseudo-complaints on each side, the prior for keys that have no history and no siblings yet.
The weaker of the two is the evidence, and the odds ratio of the table (with the prior) its
effect size. Pure: no I/O.
"""

import math
from dataclasses import dataclass
from statistics import NormalDist

from pydantic import Field, field_validator

from services.escalation.config_model import ConfigModel

# Patterns whose two dimensions vary independently. A product belongs to one category, so the
# product+category table has no second axis to compare across; it keeps the temporal baseline.
CROSS_PATTERNS = ("product+region", "category+region")


class CrossConfig(ConfigModel):
    """The [detector.cross_sectional] table of config/escalation.toml."""

    enabled: bool = True
    patterns: tuple[str, ...] = Field(default=CROSS_PATTERNS, strict=False)
    min_count: int = Field(default=10, ge=1)
    min_ratio: float = Field(default=3.0, gt=0)
    min_z: float = Field(default=4.5, gt=0)
    prior_count: float = Field(default=1.0, gt=0)
    # Once a key has a learned baseline, it must also be this many times its own usual count:
    # a key as busy as it always is stands out from its siblings by nature, not by a burst.
    min_ratio_to_history: float = Field(default=2.0, gt=0)
    # Complaints outside the key the window must hold: without peers there is no comparison.
    min_context: int = Field(default=20, ge=1)

    @field_validator("patterns")
    @classmethod
    def _known(cls, patterns: tuple[str, ...]) -> tuple[str, ...]:
        if any(p not in CROSS_PATTERNS for p in patterns):
            raise ValueError(f"must be among {', '.join(CROSS_PATTERNS)}")
        return patterns


@dataclass(frozen=True)
class Window:
    """The recent window cut by the key's two dimensions (see the module docstring)."""

    a: int
    row: int
    col: int
    rest: int

    @property
    def context(self) -> int:
        return self.row + self.col + self.rest


@dataclass(frozen=True)
class CrossEvidence:
    recent: int
    expected: float
    ratio: float
    z: float
    same_first_elsewhere: int
    others_here: int
    others_elsewhere: int


def upper_tail(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p), summed from k in log space."""
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    log_p, log_q = math.log(p), math.log1p(-p)
    base = math.lgamma(n + 1)
    total = 0.0
    for i in range(k, n + 1):
        term = math.exp(
            base - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * log_p + (n - i) * log_q
        )
        total += term
        # Above the mean the terms only fall: stop once they no longer change the sum.
        if term < total * 1e-12:
            break
    return min(total, 1.0)


def score(p_value: float) -> float:
    """The standard normal score of a tail probability (capped where floats run out)."""
    if p_value <= 1e-300:
        return 37.0
    return round(-NormalDist().inv_cdf(p_value) if p_value < 0.5 else 0.0, 2)


@dataclass(frozen=True)
class Axis:
    expected: float
    ratio: float
    z: float


def axis(a: int, beside: int, elsewhere_same: int, elsewhere_other: int, c: float) -> Axis:
    """The key's share of its group (a out of a + beside) against the share seen elsewhere."""
    share = (elsewhere_same + c) / (elsewhere_same + elsewhere_other + 2 * c)
    n = a + beside
    expected = n * share
    return Axis(expected, a / expected, score(upper_tail(a, n, share)))


def crossing(window: Window, config: CrossConfig) -> CrossEvidence | None:
    """The evidence when the key stands out from its siblings by every configured threshold."""
    if not config.enabled or window.a < config.min_count or window.context < config.min_context:
        return None
    c, a = config.prior_count, window.a
    along = [
        axis(a, window.col, window.row, window.rest, c),
        axis(a, window.row, window.col, window.rest, c),
    ]
    weaker = min(along, key=lambda x: (x.z, x.ratio))
    # The effect size: the odds of P in R against elsewhere, unbounded unlike a share's ratio.
    ratio = (a + c) * (window.rest + c) / ((window.row + c) * (window.col + c))
    if ratio < config.min_ratio or weaker.z < config.min_z:
        return None
    return CrossEvidence(
        recent=a,
        expected=round(weaker.expected, 3),
        ratio=round(ratio, 2),
        z=weaker.z,
        same_first_elsewhere=window.row,
        others_here=window.col,
        others_elsewhere=window.rest,
    )
