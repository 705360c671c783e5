"""Small SQL helpers shared by the escalation use cases."""

import hashlib
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import Insert as PgInsert
from sqlalchemy.dialects.sqlite import Insert as SqliteInsert
from sqlalchemy.ext.asyncio import AsyncConnection


def insert(conn: AsyncConnection, table: Table) -> PgInsert | SqliteInsert:
    return (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(table)


def utc(value: Any) -> Any:
    """SQLite keeps no offset; every timestamp here was written in UTC."""
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def digest(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()  # a key, not a secret
