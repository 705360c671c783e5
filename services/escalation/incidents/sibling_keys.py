"""What the pattern could have been but is not: sister products, neighbouring regions, other
categories, each measured on the detector's own counts."""

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.escalation.incidents import detector as det
from services.escalation.incidents.specification import Sibling
from services.escalation.key_hashes import digest
from services.escalation.models import pattern_stats

LIMIT = 50


def state_of(row: Any) -> det.KeyState:
    return det.KeyState(row.bucket, tuple(row.counts), row.mean, row.var, row.folded)


def _sibling(value: str, row: Any, bucket: int, config: det.DetectorConfig) -> Sibling:
    if row is None:
        return Sibling(value, 0)
    state = det.advance(state_of(row), bucket, config)
    return Sibling(value, state.recent, det.crossing(state, config) is not None)


async def _rows(
    conn: AsyncConnection, pattern: str, fixed: str, value: str, varying: str, own: str
) -> list[Any]:
    query = select(pattern_stats).where(
        pattern_stats.c.pattern == pattern,
        func.lower(pattern_stats.c[fixed]) == value.casefold(),
        func.lower(pattern_stats.c[varying]) != own.casefold(),
    )
    return list(await conn.execute(query.limit(LIMIT)))


async def _row(conn: AsyncConnection, pattern: str, dims: dict[str, str]) -> Any:
    key_hash = digest(det.key_name(pattern, dims))
    query = select(pattern_stats).where(pattern_stats.c.key_hash == key_hash)
    return (await conn.execute(query)).first()


async def siblings(
    conn: AsyncConnection,
    dims: dict[str, str],
    context: dict[str, str],
    bucket: int,
    config: det.DetectorConfig,
) -> dict[str, list[Sibling]]:
    """Per dimension of the pattern, the values it could have had, measured like the pattern."""
    product, category, region = context["product"], context["category"], context["region"]
    found: dict[str, list[Sibling]] = {}
    if "product" in dims:
        sisters = await _rows(conn, "product+category", "dim_b", category, "dim_a", product)
        found["product"] = []
        for sister in sisters:
            row = sister
            if "region" in dims:
                # Sister products compared in the same region, as the pattern is.
                scoped = {"product": sister.dim_a, "region": region}
                row = await _row(conn, "product+region", scoped)
            found["product"].append(_sibling(sister.dim_a, row, bucket, config))
    if "region" in dims:
        if (product and "product" in dims) or "category" not in dims:
            rows = await _rows(conn, "product+region", "dim_a", product, "dim_b", region)
        else:
            rows = await _rows(conn, "category+region", "dim_a", category, "dim_b", region)
        found["region"] = [_sibling(r.dim_b, r, bucket, config) for r in rows]
        named = {s.value.casefold() for s in found["region"]}
        found["region"] += [
            Sibling(n, 0) for n in config.catalogue.neighbours(region) if n.casefold() not in named
        ]
    if "category" in dims:
        if "region" in dims:
            rows = await _rows(conn, "category+region", "dim_b", region, "dim_a", category)
            found["category"] = [_sibling(r.dim_a, r, bucket, config) for r in rows]
        else:
            rows = await _rows(conn, "product+category", "dim_a", product, "dim_b", category)
            found["category"] = [_sibling(r.dim_b, r, bucket, config) for r in rows]
    return {dim: sorted(values, key=lambda s: (s.recent, s.value)) for dim, values in found.items()}
