"""Where a message goes when its handler fails: back to its queue after a wait, or dead letters.

A transient failure (the database or broker unreachable, see `shared.errors.is_transient`) is
republished to a retry queue whose TTL is the next wait of the schedule; the broker dead-letters
it back to the work queue when the wait is over. One retry queue per distinct wait, because the
broker expires messages only at a queue's head: a per-message TTL in one shared queue would hold
a short wait behind a long one. A permanent failure, or one that outlives the schedule, is
published to `<queue>.dlq` with why in its headers. Either way the original is acked only after
the broker confirmed the copy, so a crash in between leaves a duplicate, never a loss (and
consumers are idempotent).
"""

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel
from sqlalchemy import exc as sa_exc

from shared.delivery import ORIGINAL_ROUTING_KEY, ORIGINAL_USER_ID, Delivery, publisher_of, quietly
from shared.errors import NotFound, RetryLater, is_transient
from shared.logging import get_logger
from shared.observability import EVENTS_CONSUMED

log = get_logger(__name__)

RETRY_COUNT = "x-retry-count"
FIRST_FAILURE = "x-first-failure"
LAST_ERROR = "x-last-error"
DEATH_REASON = "x-death-reason"
# Set by the broker on every dead-lettering (and so on every return from a retry queue): dropped
# from a copy, or it would grow by one entry per attempt.
_BROKER_HEADERS = (
    "x-death",
    "x-delivery-count",
    "x-first-death-exchange",
    "x-first-death-queue",
    "x-first-death-reason",
)
_UNIQUE_VIOLATION = "23505"


def is_retryable(exc: BaseException) -> bool:
    """Transient; a handler's `RetryLater`; a `NotFound` (the event overtook the one that creates
    what it acts on, a case not yet opened); or a unique violation: two consumers raced to insert
    the same row, and the retry finds the row the other one committed. If what is awaited never
    comes, the schedule ends in the dead-letter queue."""
    if is_transient(exc) or isinstance(exc, RetryLater | NotFound):
        return True
    return isinstance(exc, sa_exc.IntegrityError) and getattr(exc.orig, "sqlstate", None) == (
        _UNIQUE_VIOLATION
    )


def retry_count(headers: Mapping[str, Any] | None) -> int:
    value = (headers or {}).get(RETRY_COUNT, 0)
    return value if isinstance(value, int) else 0


def retry_queue_name(queue: str, wait_seconds: float) -> str:
    return f"{queue}.retry.{round(wait_seconds * 1000)}ms"


class Failures:
    """The failure policy of one consumed queue."""

    def __init__(
        self,
        channel: Callable[[], AbstractChannel],
        queue: str,
        schedule: list[float],
        on_transient: Callable[[BaseException], None] | None = None,
        user_id: str | None = None,
    ):
        self._channel = channel
        # The service's own login: its copies carry it, so their kept headers can be believed.
        self.user_id = user_id
        self.queue = queue
        self.dead_letters = f"{queue}.dlq"
        self.schedule = schedule
        self._on_transient = on_transient

    def retry_queues(self) -> dict[str, int]:
        """Each retry queue's name and TTL in milliseconds."""
        return {retry_queue_name(self.queue, w): max(1, round(w * 1000)) for w in self.schedule}

    async def failed(self, message: Delivery, exc: BaseException, type_: str) -> None:
        if is_retryable(exc):
            if self._on_transient is not None and is_transient(exc):
                self._on_transient(exc)
            await self.retry(message, exc, type_)
        else:
            await self.dead_letter(message, "handler_failed", _describe(exc), type_)

    async def retry(self, message: Delivery, exc: BaseException, type_: str) -> None:
        attempt = retry_count(message.headers)
        if attempt >= len(self.schedule):
            await self.dead_letter(message, "retries_exhausted", _describe(exc), type_)
            return
        wait = self.schedule[attempt]
        log.warning(
            "event_retry_scheduled",
            type=type_,
            attempt=attempt + 1,
            wait_seconds=wait,
            error=_describe(exc),
        )
        EVENTS_CONSUMED.labels(type_, "retried").inc()
        headers = {**self._carried(message, _describe(exc)), RETRY_COUNT: attempt + 1}
        await self._send(message, retry_queue_name(self.queue, wait), headers)

    async def dead_letter(self, message: Delivery, reason: str, detail: str, type_: str) -> None:
        log.error("event_dead_lettered", type=type_, reason=reason, detail=detail)
        EVENTS_CONSUMED.labels(type_, "dead_lettered").inc()
        headers = {**self._carried(message, detail), DEATH_REASON: reason}
        await self._send(message, self.dead_letters, headers)

    def _carried(self, message: Delivery, error: str) -> dict[str, Any]:
        headers = {k: v for k, v in (message.headers or {}).items() if k not in _BROKER_HEADERS}
        headers.setdefault(FIRST_FAILURE, datetime.now(UTC).isoformat())
        publisher, routing_key = publisher_of(message, self)
        headers[ORIGINAL_USER_ID] = publisher or ""
        headers[ORIGINAL_ROUTING_KEY] = routing_key or ""
        headers[LAST_ERROR] = error
        return headers

    async def _send(self, message: Delivery, queue: str, headers: dict[str, Any]) -> None:
        copy = aio_pika.Message(
            message.body,
            headers=headers,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            content_type="application/json",
            message_id=message.message_id,
            user_id=self.user_id,
        )
        try:
            await self._channel().default_exchange.publish(copy, routing_key=queue, timeout=30)
        except Exception as exc:
            # The broker is unreachable too: the original goes back (or is redelivered when the
            # connection returns) and is tried again.
            log.warning("event_not_rerouted", queue=queue, error=repr(exc))
            await quietly(message.nack(requeue=True), message)
            return
        await quietly(message.ack(), message)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:500]
