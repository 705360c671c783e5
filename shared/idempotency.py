"""Idempotency-Key lookups, shared by every service that honours the header.

Each service keeps its own `idempotency_keys` table (scope, key, request_hash, and what it
needs to answer again); this finds an earlier use of a key and refuses a different request
under the same key.
"""

from typing import Any

from sqlalchemy import Row, Table, select
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.errors import Conflict


async def earlier_use(
    conn: AsyncConnection, table: Table, scope: str, key: str | None, fingerprint: str
) -> Row[Any] | None:
    """The row recorded for this key, or None; Conflict if it was used for another request."""
    if key is None:
        return None
    query = select(table).where(table.c.scope == scope, table.c.key == key)
    row = (await conn.execute(query)).first()
    if row is not None and row.request_hash != fingerprint:
        raise Conflict(
            "idempotency_key_reused", "This Idempotency-Key was used with a different request."
        )
    return row
