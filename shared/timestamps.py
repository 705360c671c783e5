"""Timestamps in UTC with their zone, on SQLite as on PostgreSQL.

SQLite has no time-zone type: SQLAlchemy stores the wall-clock text and drops the offset, so
`10:55+10:00` would come back as a naive `10:55`, ten hours wrong. Every timestamp column is
therefore normalised to UTC before it is written and read back as an aware UTC value.
"""

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator
from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


def as_utc(value: datetime) -> datetime:
    """An aware UTC datetime; a naive one is taken to be UTC already (how it was stored)."""
    if value.tzinfo is UTC:  # as PostgreSQL's come back: nothing to do (a hot path of ingest)
        return value
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """`DateTime(timezone=True)` that writes UTC and reads aware UTC values."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        return as_utc(value) if isinstance(value, datetime) else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        return as_utc(value) if isinstance(value, datetime) else value


def _iso_only(value: Any) -> Any:
    """Refuse numbers as times: pydantic would read `to=0.5` as 1970-01-01T00:00:00.5."""
    if isinstance(value, int | float) or (
        isinstance(value, str) and value.strip().lstrip("+-").replace(".", "", 1).isdigit()
    ):
        raise ValueError("expected an ISO 8601 date-time such as 2026-11-22T09:05:00Z")
    return value


# A date-time in ISO 8601 only; a value without an offset is UTC.
IsoDateTime = Annotated[datetime, BeforeValidator(_iso_only), AfterValidator(as_utc)]
