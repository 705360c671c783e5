"""The Kepner-Tregoe problem specification of an incident: what, where, when and extent that the
pattern IS, what it IS NOT though it could be, and the distinctions between the two. Pure."""

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.escalation.incidents.detector import Crossing, DetectorConfig

PLURAL = {"product": "products", "category": "categories", "region": "regions"}


@dataclass(frozen=True)
class Sibling:
    """A value the pattern could have had (a sister product, a neighbouring region)."""

    value: str
    recent: int
    crossing: bool = False


def specify(
    dims: Mapping[str, str],
    complaints: Sequence[Mapping[str, Any]],
    crossing: Crossing,
    baseline_per_bucket: float,
    siblings: Mapping[str, Sequence[Sibling]],
    config: DetectorConfig,
) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    """(is, is_not, distinctions) for the complaints that make the incident."""
    times = sorted(c["received_at"] for c in complaints)
    first, last = times[0], times[-1]
    hours = config.window_buckets * config.bucket_minutes / 60
    per_hour = baseline_per_bucket * 60 / config.bucket_minutes
    is_: dict[str, Any] = {
        "what": {d: dims[d] for d in ("product", "category") if d in dims},
        "where": {"region": dims["region"]} if "region" in dims else {},
        "when": {"first": first.isoformat(), "last": last.isoformat(), "window_hours": hours},
        "extent": {
            "complaints": len(complaints),
            "in_window": crossing.recent,
            "expected_in_window": crossing.expected,
            "ratio": None if crossing.ratio == float("inf") else crossing.ratio,
            "z": crossing.z,
        },
    }
    for free in ("product", "category", "region"):
        if free not in dims:
            seen = Counter(str(c.get(free) or "unknown") for c in complaints)
            bucket = "where" if free == "region" else "what"
            is_[bucket][PLURAL[free] + "_seen"] = dict(seen.most_common())
    quiet = {d: [s for s in siblings.get(d, ()) if not s.crossing] for d in dims}
    is_not: dict[str, Any] = {
        "what": {
            f"other_{d}s": {s.value: s.recent for s in quiet[d]}
            for d in ("product", "category")
            if d in dims
        },
        "where": {"other_regions": {s.value: s.recent for s in quiet.get("region", [])}},
        "when": {
            "before": f"before {first.isoformat()}",
            "baseline_per_hour": round(per_hour, 3),
        },
        "extent": {"not_more_than": len(complaints), "expected_in_window": crossing.expected},
    }
    return is_, is_not, _distinctions(dims, quiet, first, per_hour, hours)


def _distinctions(
    dims: Mapping[str, str],
    quiet: Mapping[str, Sequence[Sibling]],
    first: datetime,
    per_hour: float,
    hours: float,
) -> list[str]:
    found = []
    for dim, values in quiet.items():
        if values:
            others = ", ".join(s.value for s in values[:5])
            found.append(f"only {dim} {dims[dim]}, not {others}")
    found.append(
        f"began {first.isoformat()}; before that {per_hour:.2f} complaints an hour "
        f"for this pattern, against {hours:g} hours now beyond it"
    )
    return found
