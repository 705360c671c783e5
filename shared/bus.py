"""The event bus on RabbitMQ (aio-pika).

Durable topic exchange; one quorum queue per consuming service whose poison messages go to a
dead-letter queue after a bounded number of deliveries; persistent messages published with
confirms; robust connections that reconnect and restore their consumers. A queue is consumed
one message at a time (`consume`) or in batches handed to one handler call (`consume_batches`).
"""

import asyncio
import contextlib
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import aio_pika
from aio_pika.abc import (
    AbstractChannel,
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustConnection,
)
from pydantic import ValidationError

from shared.correlation import set_correlation_id
from shared.events import Envelope
from shared.logging import get_logger
from shared.observability import EVENTS_CONSUMED

log = get_logger(__name__)

EnvelopeHandler = Callable[[Envelope], Awaitable[None]]
BatchHandler = Callable[[list[Envelope]], Awaitable[None]]
Parsed = tuple[AbstractIncomingMessage, Envelope]


@dataclass(frozen=True)
class OutgoingMessage:
    routing_key: str
    body: bytes
    message_id: str


def retry_delay(delivery_count: int) -> float:
    """Back-off before handing a failed message back to the queue: 0.2s, 0.4s, ... up to 5s."""
    return float(min(0.2 * 2**delivery_count, 5.0))


class Bus:
    def __init__(
        self,
        url: str,
        exchange: str,
        *,
        prefetch: int = 64,
        delivery_limit: int = 5,
        confirm_timeout: float = 30.0,
    ):
        self._url = url
        self._exchange_name = exchange
        self._prefetch = prefetch
        self._delivery_limit = delivery_limit
        self._confirm_timeout = confirm_timeout
        self._connection: AbstractRobustConnection | None = None
        self._publish_channel: AbstractChannel | None = None
        self._exchange: AbstractExchange | None = None
        self._consumers: list[tuple[AbstractQueue, str]] = []
        self._batch_consumers: list[_BatchConsumer] = []
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def connected(self) -> bool:
        return self._connection is not None and not self._connection.is_closed

    async def connect(self) -> None:
        self._connection = await aio_pika.connect_robust(self._url)
        self._publish_channel = await self._connection.channel(publisher_confirms=True)
        self._exchange = await self._declare_exchange(self._publish_channel)

    async def close(self) -> None:
        for consumer in self._batch_consumers:
            await consumer.close()
        self._batch_consumers.clear()
        if self._connection is not None:
            await self._connection.close()
            self._connection = None

    async def _declare_exchange(self, channel: AbstractChannel) -> AbstractExchange:
        return await channel.declare_exchange(
            self._exchange_name, aio_pika.ExchangeType.TOPIC, durable=True
        )

    async def publish_many(self, messages: Sequence[OutgoingMessage]) -> None:
        """Publish persistent messages and wait until the broker confirms every one."""
        assert self._exchange is not None, "bus not connected"
        exchange = self._exchange
        confirms = [
            exchange.publish(
                aio_pika.Message(
                    m.body,
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                    content_type="application/json",
                    message_id=m.message_id,
                ),
                routing_key=m.routing_key,
                timeout=self._confirm_timeout,
            )
            for m in messages
        ]
        await asyncio.gather(*confirms)

    async def publish(self, *events: Envelope) -> None:
        await self.publish_many(
            [
                OutgoingMessage(e.routing_key, e.model_dump_json().encode(), e.event_id)
                for e in events
            ]
        )

    async def consume(
        self, queue_name: str, bindings: Sequence[str], handler: EnvelopeHandler
    ) -> None:
        """Declare the service's queue with its dead-letter queue, bind it, and start consuming."""
        _, queue = await self._open_queue(queue_name, bindings, self._prefetch)

        async def on_message(message: AbstractIncomingMessage) -> None:
            with self._handling(1):
                await _deliver(message, handler)

        tag = await queue.consume(on_message)
        self._consumers.append((queue, tag))

    async def consume_batches(
        self,
        queue_name: str,
        bindings: Sequence[str],
        handler: BatchHandler,
        *,
        max_batch: int = 500,
        max_wait_seconds: float = 0.05,
        prefetch: int | None = None,
    ) -> None:
        """Consume the queue in batches: `handler` is awaited once per batch, then all are acked.

        A batch is what is buffered, up to `max_batch`, plus what arrives within
        `max_wait_seconds` of its first message. Prefetch (default twice the batch) must exceed
        the batch so the next one is already buffered while one is handled. A batch whose
        handler raises is handled again one message at a time, so only the messages that fail
        alone are retried and, after the delivery limit, dead-lettered.
        """
        prefetch = prefetch or max(self._prefetch, 2 * max_batch)
        if prefetch <= max_batch:
            raise ValueError(f"prefetch {prefetch} must exceed the batch size {max_batch}")
        channel, queue = await self._open_queue(queue_name, bindings, prefetch)
        consumer = _BatchConsumer(channel, handler, max_batch, max_wait_seconds, self._handling)
        self._batch_consumers.append(consumer)
        tag = await queue.consume(consumer.on_message)
        self._consumers.append((queue, tag))

    async def _open_queue(
        self, queue_name: str, bindings: Sequence[str], prefetch: int
    ) -> tuple[AbstractChannel, AbstractQueue]:
        """A channel of its own with the queue declared (quorum, dead-letter queue) and bound."""
        assert self._connection is not None, "bus not connected"
        channel = await self._connection.channel()
        await channel.set_qos(prefetch_count=prefetch)
        exchange = await self._declare_exchange(channel)
        dead_letters = f"{queue_name}.dlq"
        await channel.declare_queue(
            dead_letters, durable=True, arguments={"x-queue-type": "quorum"}
        )
        queue = await channel.declare_queue(
            queue_name,
            durable=True,
            arguments={
                "x-queue-type": "quorum",
                "x-delivery-limit": self._delivery_limit,
                "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": dead_letters,
            },
        )
        for key in bindings:
            await queue.bind(exchange, routing_key=key)
        return channel, queue

    @contextlib.contextmanager
    def _handling(self, count: int) -> Iterator[None]:
        """Count messages being handled, so `drain` can wait until none is."""
        self._in_flight += count
        self._idle.clear()
        try:
            yield
        finally:
            self._in_flight -= count
            if self._in_flight == 0:
                self._idle.set()

    async def drain(self, grace_seconds: float = 10.0) -> None:
        """Stop taking messages and let those being handled finish (graceful shutdown).

        A batch consumer finishes the batch in progress; what it had buffered stays unacked and
        goes back to the queue when its channel closes.
        """
        for queue, tag in self._consumers:
            with contextlib.suppress(Exception):
                await queue.cancel(tag)
        self._consumers.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(grace_seconds):
                for consumer in self._batch_consumers:
                    await consumer.finish()
                await self._idle.wait()
        for consumer in self._batch_consumers:
            await consumer.close()
        self._batch_consumers.clear()

    async def delete_queues(self, *names: str) -> None:
        assert self._connection is not None
        channel = await self._connection.channel()
        for name in names:
            await channel.queue_delete(name)
        await channel.close()

    async def delete_exchange(self) -> None:
        assert self._connection is not None
        channel = await self._connection.channel()
        await channel.exchange_delete(self._exchange_name)
        await channel.close()


class _BatchConsumer:
    """Buffers one channel's deliveries and settles them a batch at a time, in delivery order.

    One loop per channel handles one batch at a time and settles every message of a batch
    (ack, reject or nack) before taking the next, so when a batch's handler returns, every
    message delivered before its last one is settled or in it: one `multiple=True` ack on the
    last message acknowledges exactly the batch.
    """

    def __init__(
        self,
        channel: AbstractChannel,
        handler: BatchHandler,
        max_batch: int,
        max_wait_seconds: float,
        handling: Callable[[int], contextlib.AbstractContextManager[None]],
    ):
        self._channel = channel
        self._handler = handler
        self._max_batch = max_batch
        self._max_wait = max_wait_seconds
        self._handling = handling
        self._buffer: asyncio.Queue[AbstractIncomingMessage | None] = asyncio.Queue()
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="batch-consumer")

    async def on_message(self, message: AbstractIncomingMessage) -> None:
        self._buffer.put_nowait(message)

    async def finish(self) -> None:
        """Let the batch in progress finish, then stop (nothing more is taken from the buffer)."""
        self._stopping = True
        self._buffer.put_nowait(None)
        await asyncio.wait([self._task])

    async def close(self) -> None:
        """Stop now, and close the channel: what was not acked goes back to the queue."""
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

    async def _collect(self) -> list[AbstractIncomingMessage] | None:
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

    async def _settle(self, batch: list[AbstractIncomingMessage]) -> None:
        parsed = [p for p in [await _parse_or_reject(m) for m in batch] if p is not None]
        if not parsed:
            return
        with self._handling(len(parsed)):
            if len(parsed) > 1 and await self._handled_together(parsed):
                last = parsed[-1][0]
                await _quietly(last.ack(multiple=True), last)
            else:
                await self._one_by_one(parsed)

    async def _handled_together(self, parsed: list[Parsed]) -> bool:
        set_correlation_id(None)
        try:
            await self._handler([envelope for _, envelope in parsed])
        except Exception:
            log.exception("event_batch_failed", size=len(parsed))
            return False
        _count_handled(envelope for _, envelope in parsed)
        return True

    async def _one_by_one(self, parsed: list[Parsed]) -> None:
        """Each message in its own call: the good ones are acked, the failing ones retried."""
        failed: list[AbstractIncomingMessage] = []
        for message, envelope in parsed:
            set_correlation_id(envelope.correlation_id)
            try:
                await self._handler([envelope])
            except Exception:
                _log_failure(message, envelope)
                failed.append(message)
                continue
            _count_handled([envelope])
            await _quietly(message.ack(), message)
        if failed:
            await asyncio.sleep(max(retry_delay(_delivery_count(m.headers)) for m in failed))
            for message in failed:
                await _quietly(message.nack(requeue=True), message)


async def _quietly(settlement: Awaitable[None], message: AbstractIncomingMessage) -> None:
    """Ack, nack or reject; a failure means the channel closed and the broker will redeliver.

    It must not stop the settling of the rest of a batch: a message of a live channel left
    unsettled would be acknowledged, unhandled, by the next batch's `multiple=True` ack.
    """
    try:
        await settlement
    except Exception as exc:
        log.warning("event_not_settled", routing_key=message.routing_key, error=repr(exc))


async def _parse_or_reject(message: AbstractIncomingMessage) -> Parsed | None:
    """The message's envelope; a malformed message is dead-lettered at once (None)."""
    try:
        return message, Envelope.model_validate_json(message.body)
    except ValidationError as exc:
        log.error("event_malformed", routing_key=message.routing_key, error=str(exc))
        EVENTS_CONSUMED.labels(message.routing_key or "", "dead_lettered").inc()
        await _quietly(message.reject(requeue=False), message)
        return None


async def _deliver(message: AbstractIncomingMessage, handler: EnvelopeHandler) -> None:
    parsed = await _parse_or_reject(message)
    if parsed is None:
        return
    _, envelope = parsed
    set_correlation_id(envelope.correlation_id)
    try:
        await handler(envelope)
    except Exception:
        _log_failure(message, envelope)
        await asyncio.sleep(retry_delay(_delivery_count(message.headers)))
        await message.nack(requeue=True)
        return
    _count_handled([envelope])
    await message.ack()


def _log_failure(message: AbstractIncomingMessage, envelope: Envelope) -> None:
    count = _delivery_count(message.headers)
    log.exception("event_failed", type=envelope.type, event_id=envelope.event_id, attempt=count)
    EVENTS_CONSUMED.labels(envelope.type, "failed").inc()


def _count_handled(envelopes: Iterable[Envelope]) -> None:
    for type_, count in Counter(e.type for e in envelopes).items():
        EVENTS_CONSUMED.labels(type_, "handled").inc(count)


def _delivery_count(headers: dict[str, Any] | None) -> int:
    value = (headers or {}).get("x-delivery-count", 0)
    return int(value) if isinstance(value, int | str) and str(value).isdigit() else 0
