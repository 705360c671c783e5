"""Consuming a queue in batches: one handler call and one acknowledgement per batch.

Messages are taken from the channel below aio-pika's (aiormq's) and wrapped in a small
`RawDelivery`: aio-pika's own consumer builds a rich message object and starts a second task for
every delivery, which cost more than folding the event for a service that takes every event of
the loop (analytics). Like aio-pika's robust queues, the consumer subscribes again when its
robust channel is reopened after a lost connection.
"""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import aiormq
from aio_pika.abc import AbstractChannel

from shared.correlation import set_correlation_id
from shared.delivery import Parsed, count_handled, log_failure, parse_or_reject, quietly
from shared.events import Envelope
from shared.logging import get_logger
from shared.retries import Failures, is_retryable

log = get_logger(__name__)

BatchHandler = Callable[[list[Envelope]], Awaitable[None]]


class RawDelivery:
    """An aiormq delivery, settled on the channel that delivered it."""

    __slots__ = ("_message",)

    def __init__(self, message: aiormq.abc.DeliveredMessage):
        self._message = message

    @property
    def body(self) -> bytes:
        return self._message.body

    @property
    def routing_key(self) -> str | None:
        return self._message.routing_key

    @property
    def headers(self) -> Mapping[str, Any] | None:
        return self._message.header.properties.headers

    @property
    def message_id(self) -> str | None:
        return self._message.header.properties.message_id

    @property
    def user_id(self) -> str | None:
        return self._message.header.properties.user_id

    @property
    def stale(self) -> bool:
        """Delivered on a channel since closed: the broker delivers it again."""
        return self._message.channel.is_closed

    def _tag(self) -> int:
        tag = self._message.delivery_tag
        assert tag is not None, "a consumed message has a delivery tag"
        return tag

    async def ack(self, multiple: bool = False) -> None:
        await self._message.channel.basic_ack(self._tag(), multiple=multiple)

    async def nack(self, multiple: bool = False, requeue: bool = True) -> None:
        await self._message.channel.basic_nack(self._tag(), multiple=multiple, requeue=requeue)

    async def reject(self, requeue: bool = False) -> None:
        await self._message.channel.basic_reject(self._tag(), requeue=requeue)


class BatchConsumer:
    """Buffers one channel's deliveries and settles them a batch at a time, in delivery order.

    One loop per channel handles one batch at a time and settles every message of a batch
    (ack, reject or nack) before taking the next, so when a batch's handler returns, every
    message delivered before its last one is settled or in it: one `multiple=True` ack on the
    last message acknowledges exactly the batch.
    """

    def __init__(
        self,
        channel: AbstractChannel,
        queue_name: str,
        handler: BatchHandler,
        max_batch: int,
        max_wait_seconds: float,
        handling: Callable[[int], contextlib.AbstractContextManager[None]],
        failures: Failures,
    ):
        self._channel = channel
        self._queue_name = queue_name
        self._handler = handler
        self._max_batch = max_batch
        self._max_wait = max_wait_seconds
        self._handling = handling
        self._failures = failures
        self._buffer: asyncio.Queue[RawDelivery | None] = asyncio.Queue()
        self._stopping = False
        self._cancelled = False
        self._tag = f"batches.{queue_name}.{id(self):x}"
        self._task = asyncio.create_task(self._run(), name="batch-consumer")

    async def start(self) -> None:
        await self._subscribe()
        reopened = getattr(self._channel, "reopen_callbacks", None)
        if reopened is not None:  # a robust channel: subscribe again on the new one
            reopened.add(self._resubscribe)

    async def _subscribe(self) -> None:
        underlay = await self._channel.get_underlay_channel()
        await underlay.basic_consume(self._queue_name, self._on_delivery, consumer_tag=self._tag)

    async def _resubscribe(self, *_: Any) -> None:
        if not self._cancelled:
            await self._subscribe()
            log.info("batch_consumer_resubscribed", queue=self._queue_name)

    async def _on_delivery(self, message: aiormq.abc.DeliveredMessage) -> None:
        self._buffer.put_nowait(RawDelivery(message))

    async def cancel(self) -> None:
        """Take no more deliveries (those buffered stay, unacked until handled)."""
        self._cancelled = True
        with contextlib.suppress(Exception):
            underlay = await self._channel.get_underlay_channel()
            await underlay.basic_cancel(self._tag)

    async def resume(self) -> None:
        """Take deliveries again after `cancel` (a pause for an outage)."""
        if self._cancelled and not self._stopping:
            self._cancelled = False
            await self._subscribe()

    async def finish(self) -> None:
        """Let the batch in progress finish, then stop (nothing more is taken from the buffer)."""
        self._stopping = True
        self._buffer.put_nowait(None)
        await asyncio.wait([self._task])

    async def close(self) -> None:
        """Stop now, and close the channel: what was not acked goes back to the queue."""
        self._stopping = self._cancelled = True
        self._task.cancel()
        await asyncio.wait([self._task], timeout=5.0)
        with contextlib.suppress(Exception):
            await self._channel.close()

    async def _run(self) -> None:
        while not self._stopping:
            batch = await self._collect()
            if batch is None or self._stopping:
                return
            try:
                await self._settle(batch)
            except Exception:
                log.exception("event_batch_unsettled", size=len(batch))

    async def _collect(self) -> list[RawDelivery] | None:
        """The next batch, or None when told to stop."""
        first = await self._buffer.get()
        if first is None:
            return None
        batch = [first]
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._max_wait):
                while len(batch) < self._max_batch:
                    message = await self._buffer.get()
                    if message is None:
                        return None
                    batch.append(message)
        return batch

    async def _settle(self, batch: list[RawDelivery]) -> None:
        live = [m for m in batch if not m.stale]
        parsed = [
            p for p in [await parse_or_reject(m, self._failures) for m in live] if p is not None
        ]
        if not parsed:
            return
        with self._handling(len(parsed)):
            if len(parsed) > 1 and await self._handled_together(parsed):
                last = parsed[-1][0]
                await quietly(last.ack(multiple=True), last)
            else:
                await self._one_by_one(parsed)

    async def _handled_together(self, parsed: list[Parsed]) -> bool:
        set_correlation_id(None)
        try:
            await self._handler([envelope for _, envelope in parsed])
        except Exception:
            log.exception("event_batch_failed", size=len(parsed))
            return False
        count_handled(envelope for _, envelope in parsed)
        return True

    async def _one_by_one(self, parsed: list[Parsed]) -> None:
        """Each message in its own call: the good ones are acked, the failing ones rerouted.

        After a transient failure (the database gone) the rest of the batch is not tried: it
        would fail the same way, so it goes to the retry queue as it is.
        """
        outage: BaseException | None = None
        for message, envelope in parsed:
            if outage is not None:
                await self._failures.retry(message, outage, envelope.type)
                continue
            set_correlation_id(envelope.correlation_id)
            try:
                await self._handler([envelope])
            except Exception as exc:
                log_failure(message, envelope)
                await self._failures.failed(message, exc, envelope.type)
                if is_retryable(exc):
                    outage = exc
                continue
            count_handled([envelope])
            await quietly(message.ack(), message)
