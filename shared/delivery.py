"""What every consumer does with a delivered message: parse it, settle it, count it."""

from collections import Counter
from collections.abc import Awaitable, Iterable, Mapping
from typing import Any, Protocol

from pydantic import ValidationError

from shared.events import Envelope
from shared.logging import get_logger
from shared.observability import EVENTS_CONSUMED, EVENTS_REFUSED
from shared.provenance import refusal

log = get_logger(__name__)


class Delivery(Protocol):
    """A message as delivered by the broker, to be settled once (aio-pika's or our own)."""

    @property
    def body(self) -> bytes: ...

    @property
    def routing_key(self) -> str | None: ...

    @property
    def headers(self) -> Mapping[str, Any] | None: ...

    @property
    def user_id(self) -> str | None: ...

    def ack(self, multiple: bool = False) -> Awaitable[None]: ...

    def nack(self, multiple: bool = False, requeue: bool = True) -> Awaitable[None]: ...

    def reject(self, requeue: bool = False) -> Awaitable[None]: ...


Parsed = tuple[Delivery, Envelope]


def retry_delay(delivery_count: int) -> float:
    """Back-off before handing a failed message back to the queue: 0.2s, 0.4s, ... up to 5s."""
    return float(min(0.2 * 2**delivery_count, 5.0))


async def quietly(settlement: Awaitable[None], message: Delivery) -> None:
    """Ack, nack or reject; a failure means the channel closed and the broker will redeliver.

    It must not stop the settling of the rest of a batch: a message of a live channel left
    unsettled would be acknowledged, unhandled, by the next batch's `multiple=True` ack.
    """
    try:
        await settlement
    except Exception as exc:
        log.warning("event_not_settled", routing_key=message.routing_key, error=repr(exc))


async def parse_or_reject(message: Delivery) -> Parsed | None:
    """The message's envelope; a malformed or unauthorised one is dead-lettered at once (None)."""
    try:
        envelope = Envelope.model_validate_json(message.body)
    except ValidationError as exc:
        log.error("event_malformed", routing_key=message.routing_key, error=str(exc))
        EVENTS_CONSUMED.labels(message.routing_key or "", "dead_lettered").inc()
        await quietly(message.reject(requeue=False), message)
        return None
    reason = refusal(message.user_id, message.routing_key, envelope)
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
        await quietly(message.reject(requeue=False), message)
        return None
    return message, envelope


def log_failure(message: Delivery, envelope: Envelope) -> None:
    count = delivery_count(message.headers)
    log.exception("event_failed", type=envelope.type, event_id=envelope.event_id, attempt=count)
    EVENTS_CONSUMED.labels(envelope.type, "failed").inc()


def count_handled(envelopes: Iterable[Envelope]) -> None:
    for type_, count in Counter(e.type for e in envelopes).items():
        EVENTS_CONSUMED.labels(type_, "handled").inc(count)


def delivery_count(headers: Mapping[str, Any] | None) -> int:
    value = (headers or {}).get("x-delivery-count", 0)
    return int(value) if isinstance(value, int | str) and str(value).isdigit() else 0
