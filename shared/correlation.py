"""The correlation id of the work in progress, carried from an HTTP request into its events."""

import re
import uuid
from contextvars import ContextVar

_correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)

# What an id from outside may be: it is stored in every event (a 64-character column) and
# written to logs and response headers, so it is short and of a printable, inert alphabet.
MAX_LENGTH = 64
_SAFE = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def is_safe(value: str) -> bool:
    return _SAFE.fullmatch(value) is not None


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


def accept_correlation_id(given: str | None) -> tuple[str, str | None]:
    """The id to use for a request and, when the given one was refused, a printable excerpt of it.

    A refused id is replaced by a fresh one rather than refusing the request: the header is a
    tracing aid, not part of what the client asks for.
    """
    if given is None or is_safe(given):
        return set_correlation_id(given), None
    excerpt = given[:MAX_LENGTH].encode("unicode_escape").decode("ascii")
    return set_correlation_id(None), excerpt
