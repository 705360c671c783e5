"""Portable statements: the same insert-on-conflict, upsert and key lock on SQLite and PostgreSQL.

Both dialects speak `INSERT … ON CONFLICT`, but SQLAlchemy builds it from each dialect's own
`insert`; this is the one place that chooses. The key lock serialises work on one key across
replicas on PostgreSQL; SQLite already serialises every writer.
"""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import Insert as PgInsert
from sqlalchemy.dialects.sqlite import Insert as SqliteInsert
from sqlalchemy.ext.asyncio import AsyncConnection


def insert(conn: AsyncConnection, table: Table) -> PgInsert | SqliteInsert:
    """An insert on which `.on_conflict_do_nothing()` / `.on_conflict_do_update()` work."""
    return (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(table)


async def upsert(conn: AsyncConnection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows, or overwrite the non-key columns of those that exist."""
    if not rows:
        return
    stmt = insert(conn, table)
    keys = [c.name for c in table.primary_key.columns]
    changes = {c.name: stmt.excluded[c.name] for c in table.columns if c.name not in keys}
    await conn.execute(stmt.on_conflict_do_update(index_elements=keys, set_=changes), rows)


async def lock_key(conn: AsyncConnection, key: str) -> None:
    """Serialise work on one key across replicas until the transaction ends."""
    if conn.dialect.name == "postgresql":
        await conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": key})
