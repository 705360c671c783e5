"""What every consumer does with a delivered message: parse it, settle it, count it."""

from collections import Counter
from collections.abc import Awaitable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import ValidationError

from shared.events import Envelope
from shared.logging import get_logger
from shared.observability import EVENTS_CONSUMED, EVENTS_REFUSED
from shared.provenance import refusal

if TYPE_CHECKING:
    from shared.retries import Failures

log = get_logger(__name__)

# Who first published a message and under which routing key, carried by this service's own
# retry and replay copies (which it re-sends under its own login, to its own queues).
ORIGINAL_USER_ID = "x-original-user-id"
ORIGINAL_ROUTING_KEY = "x-original-routing-key"


class Delivery(Protocol):
    """A message as delivered by the broker, to be settled once (aio-pika's or our own)."""

    @property
    def body(self) -> bytes: ...

    @property
    def routing_key(self) -> str | None: ...

    @property
    def headers(self) -> Mapping[str, Any] | None: ...

    @property
    def message_id(self) -> str | None: ...

    @property
    def user_id(self) -> str | None: ...

    def ack(self, multiple: bool = False) -> Awaitable[None]: ...

    def nack(self, multiple: bool = False, requeue: bool = True) -> Awaitable[None]: ...

    def reject(self, requeue: bool = False) -> Awaitable[None]: ...


Parsed = tuple[Delivery, Envelope]


async def quietly(settlement: Awaitable[None], message: Delivery) -> None:
    """Ack, nack or reject; a failure means the channel closed and the broker will redeliver.

    It must not stop the settling of the rest of a batch: a message of a live channel left
    unsettled would be acknowledged, unhandled, by the next batch's `multiple=True` ack.
    """
    try:
        await settlement
    except Exception as exc:
        log.warning("event_not_settled", routing_key=message.routing_key, error=repr(exc))


async def parse_or_reject(message: Delivery, failures: "Failures | None" = None) -> Parsed | None:
    """The message's envelope; a malformed or unauthorised one is dead-lettered at once (None)."""
    try:
        envelope = Envelope.model_validate_json(message.body)
    except ValidationError as exc:
        log.error("event_malformed", routing_key=message.routing_key, error=str(exc)[:500])
        await reject(message, failures, "malformed", str(exc)[:500])
        return None
    user_id, routing_key = publisher_of(message, failures)
    reason = refusal(user_id, routing_key, envelope)
    if reason is not None:
        log.error(
            "event_refused",
            reason=reason,
            type=envelope.type,
            event_id=envelope.event_id,
            routing_key=message.routing_key,
            user_id=message.user_id,
        )
        EVENTS_REFUSED.labels(envelope.type, reason).inc()
        await reject(message, failures, f"refused_{reason}", f"published by {message.user_id!r}")
        return None
    return message, envelope


def publisher_of(message: Delivery, failures: "Failures | None") -> tuple[str | None, str | None]:
    """The login that published the event and its routing key.

    A copy this service re-sent itself (a retry, a replay) arrives under its own login, which the
    broker guarantees no other service has; only then are the headers it kept believed.
    """
    headers = message.headers or {}
    own = failures.user_id if failures is not None else None
    if own and message.user_id == own and ORIGINAL_USER_ID in headers:
        return str(headers[ORIGINAL_USER_ID]) or None, str(headers.get(ORIGINAL_ROUTING_KEY, ""))
    return message.user_id, message.routing_key


async def reject(message: Delivery, failures: "Failures | None", reason: str, detail: str) -> None:
    """Dead-letter a message that can never be handled, with the reason in its headers."""
    if failures is not None:
        await failures.dead_letter(message, reason, detail, message.routing_key or "")
        return
    EVENTS_CONSUMED.labels(message.routing_key or "", "dead_lettered").inc()
    await quietly(message.reject(requeue=False), message)


def log_failure(message: Delivery, envelope: Envelope) -> None:
    count = delivery_count(message.headers)
    log.exception("event_failed", type=envelope.type, event_id=envelope.event_id, delivery=count)
    EVENTS_CONSUMED.labels(envelope.type, "failed").inc()


def count_handled(envelopes: Iterable[Envelope]) -> None:
    for type_, count in Counter(e.type for e in envelopes).items():
        EVENTS_CONSUMED.labels(type_, "handled").inc(count)


def delivery_count(headers: Mapping[str, Any] | None) -> int:
    value = (headers or {}).get("x-delivery-count", 0)
    return int(value) if isinstance(value, int | str) and str(value).isdigit() else 0
