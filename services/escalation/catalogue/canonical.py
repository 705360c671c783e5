"""Canonical values of a complaint's product, category and region, as the detector counts them.

Customers and front ends spell the same thing many ways ("Kettle K1", "kettle k-1"). Each raw
value is reduced to a normalised key (letters and digits only, case folded); the key maps to
one canonical value: the catalogue's id when the catalogue knows it, otherwise the first
spelling seen under that key, kept as it was written. Every key is recorded with how often it
came, so an admin sees the values the catalogue does not know.
"""

from collections.abc import Mapping
from datetime import datetime
from typing import Protocol

from sqlalchemy import and_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from services.escalation.catalogue.keys import LIMIT, normalised_key
from services.escalation.models import catalogue_aliases, value_keys
from shared.statements import insert

DIMENSIONS = ("product", "category", "region")


class Resolver(Protocol):
    def resolve(self, dimension: str, key: str) -> str | None:
        """The canonical id the catalogue file gives a normalised key, if any."""


async def catalogued(
    conn: AsyncConnection, catalogue: Resolver | None, dimension: str, key: str
) -> str | None:
    """The catalogue's id for a key: from the file, else from an alias an admin added."""
    known = catalogue.resolve(dimension, key) if catalogue else None
    if known:
        return known
    query = select(catalogue_aliases.c.canonical_id).where(
        catalogue_aliases.c.dimension == dimension, catalogue_aliases.c.key == key
    )
    found = await conn.scalar(query)
    return str(found) if found is not None else None


async def canonical(
    conn: AsyncConnection,
    raw: Mapping[str, str | None],
    now: datetime,
    catalogue: Resolver | None = None,
) -> dict[str, str | None]:
    """The canonical value per dimension (None stays None), recording each key as seen."""
    found: dict[str, str | None] = {}
    for dimension in DIMENSIONS:
        value = (raw.get(dimension) or "").strip()
        if not value:
            found[dimension] = None
            continue
        key = normalised_key(value)
        known = await catalogued(conn, catalogue, dimension, key)
        found[dimension] = await _record(conn, dimension, key, known or value[:LIMIT], known, now)
    return found


async def _record(
    conn: AsyncConnection,
    dimension: str,
    key: str,
    value: str,
    catalogued: str | None,
    now: datetime,
) -> str:
    where = and_(value_keys.c.dimension == dimension, value_keys.c.key == key)
    changes: dict[str, object] = {"seen": value_keys.c.seen + 1, "last_seen": now}
    if catalogued:
        # An alias added since the key was first seen: from now on it counts as the catalogue's.
        changes |= {"value": catalogued, "catalogued": True}
    done = await conn.execute(update(value_keys).where(where).values(**changes))
    if not done.rowcount:
        added = await conn.execute(
            insert(conn, value_keys)
            .values(
                dimension=dimension,
                key=key,
                value=value,
                catalogued=catalogued is not None,
                seen=1,
                first_seen=now,
                last_seen=now,
            )
            .on_conflict_do_nothing()
        )
        if not added.rowcount:
            # Another complaint recorded the key in between: count this one on its row.
            await conn.execute(update(value_keys).where(where).values(**changes))
    stored = await conn.scalar(select(value_keys.c.value).where(where))
    return str(stored) if stored is not None else value


async def lookup(
    conn: AsyncConnection, catalogue: Resolver | None, dimension: str, raw: str
) -> str:
    """The canonical value a written value counts under, without recording it as seen."""
    key = normalised_key(raw.strip())
    known = await catalogued(conn, catalogue, dimension, key)
    if known:
        return known
    query = select(value_keys.c.value).where(
        value_keys.c.dimension == dimension, value_keys.c.key == key
    )
    seen = await conn.scalar(query)
    return str(seen) if seen is not None else raw.strip()[:LIMIT]
