"""The correlation id of the work in progress, carried from an HTTP request into its events."""

import uuid
from contextvars import ContextVar

_correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)


def current_correlation_id() -> str:
    value = _correlation_id.get()
    if value is None:
        value = str(uuid.uuid4())
        _correlation_id.set(value)
    return value


def set_correlation_id(value: str | None) -> str:
    value = value or str(uuid.uuid4())
    _correlation_id.set(value)
    return value
