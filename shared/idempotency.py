"""Idempotency-Key lookups, shared by every service that honours the header.

Each service keeps its own `idempotency_keys` table (scope, key, request_hash, and what it
needs to answer again); this finds an earlier use of a key and refuses a different request
under the same key.
"""

import hashlib
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Row, Table, select
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.errors import Conflict


def request_fingerprint(body: BaseModel, *context: str) -> str:
    """SHA-256 of the validated body, and of whatever else makes it this request (who sent it)."""
    digest = hashlib.sha256(body.model_dump_json().encode())
    for part in context:
        digest.update(b"\0" + part.encode())
    return digest.hexdigest()


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
