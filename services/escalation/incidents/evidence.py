"""The evidence a pattern key gives for an incident: its own past (temporal), its siblings in
the same window (cross-sectional), or both."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.escalation.incidents import cross_section as cross
from services.escalation.incidents import detector as det
from services.escalation.models import recent_complaints


@dataclass(frozen=True)
class Evidence:
    temporal: det.Crossing | None
    cross_sectional: cross.CrossEvidence | None

    @property
    def raised_by(self) -> str | None:
        if self.temporal and self.cross_sectional:
            return "both"
        if self.temporal:
            return "temporal"
        return "cross_sectional" if self.cross_sectional else None

    def primary(self) -> det.Crossing:
        """The figures the specification states: the own baseline when there is one."""
        if self.temporal:
            return self.temporal
        assert self.cross_sectional is not None
        c = self.cross_sectional
        return det.Crossing(c.recent, c.expected, c.ratio, c.z)

    def baseline_per_bucket(self, state: det.KeyState, config: det.DetectorConfig) -> float:
        if self.temporal or self.cross_sectional is None:
            return state.mean
        return self.cross_sectional.expected / config.window_buckets

    def stored(self) -> dict[str, Any]:
        primary = self.primary()
        return {
            **primary.__dict__,
            "raised_by": self.raised_by,
            "temporal": self.temporal.__dict__ if self.temporal else None,
            "cross_sectional": self.cross_sectional.__dict__ if self.cross_sectional else None,
        }


async def window(
    conn: AsyncConnection, pattern: str, dims: dict[str, str], after_bucket: int
) -> cross.Window:
    """The recent window cut by the key's two dimensions (complaints that have both)."""
    first, second = det.PATTERNS[pattern]
    col_a, col_b = recent_complaints.c[first], recent_complaints.c[second]
    is_a, is_b = col_a == dims[first], col_b == dims[second]
    query = select(
        func.count(),
        func.coalesce(func.sum(case((is_a, 1), else_=0)), 0),
        func.coalesce(func.sum(case((is_b, 1), else_=0)), 0),
        func.coalesce(func.sum(case((and_(is_a, is_b), 1), else_=0)), 0),
    ).where(
        recent_complaints.c.bucket > after_bucket,
        col_a.is_not(None),
        col_b.is_not(None),
    )
    total, with_a, with_b, both = (await conn.execute(query)).one()
    total, with_a, with_b, both = int(total), int(with_a), int(with_b), int(both)
    return cross.Window(
        a=both, row=with_a - both, col=with_b - both, rest=total - with_a - with_b + both
    )


async def assess(
    conn: AsyncConnection,
    pattern: str,
    dims: dict[str, str],
    state: det.KeyState,
    config: det.DetectorConfig,
) -> Evidence:
    """Both tests for one key; the window is read only when the key could cross at all."""
    temporal = det.crossing(state, config)
    crossed = None
    settings = config.cross
    usual = state.mean * config.window_buckets if state.folded >= config.warmup_buckets else 0
    busy = state.recent >= max(settings.min_count, usual * settings.min_ratio_to_history)
    if settings.enabled and pattern in settings.patterns and busy:
        cut = await window(conn, pattern, dims, state.bucket - config.window_buckets)
        crossed = cross.crossing(cut, settings)
    return Evidence(temporal, crossed)
