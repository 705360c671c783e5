"""The event bus on RabbitMQ (aio-pika).

Durable topic exchange; one quorum queue per consuming service, with retry queues that hand a
transiently failed message back after a wait (`shared.retries`) and a dead-letter queue for what
can never be handled; persistent messages published with confirms; robust connections that
reconnect and restore their consumers. A queue is consumed one message at a time (`consume`) or
in batches handed to one handler call (`consume_batches`). Consumers can be paused while a
dependency is down (`pause`, `resume`): what arrives meanwhile waits in the queue.
"""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlparse

import aio_pika
from aio_pika.abc import (
    AbstractChannel,
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustConnection,
)

from shared.batches import BatchConsumer, BatchHandler
from shared.correlation import set_correlation_id
from shared.delivery import count_handled, log_failure, parse_or_reject
from shared.events import Envelope
from shared.logging import get_logger
from shared.retries import Failures

log = get_logger(__name__)

EnvelopeHandler = Callable[[Envelope], Awaitable[None]]
OnMessage = Callable[[AbstractIncomingMessage], Awaitable[None]]
__all__ = ["BatchHandler", "Bus", "OutgoingMessage"]
DEFAULT_RETRY_SCHEDULE = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0)


@dataclass(frozen=True)
class OutgoingMessage:
    routing_key: str
    body: bytes
    message_id: str


class Bus:
    def __init__(
        self,
        url: str,
        exchange: str,
        *,
        prefetch: int = 64,
        delivery_limit: int = 5,
        confirm_timeout: float = 30.0,
        name: str | None = None,
        retry_schedule: Sequence[float] = DEFAULT_RETRY_SCHEDULE,
        retry_queue_expires: float | None = None,
    ):
        self._url = url
        # The broker checks that `user_id` is the login; consumers check the login owns the type.
        self._user_id = unquote(urlparse(url).username or "") or None
        # Shown by the broker (`rabbitmqctl list_connections client_properties`, management UI).
        self._name = name
        self._exchange_name = exchange
        self._prefetch = prefetch
        self._delivery_limit = delivery_limit
        self._confirm_timeout = confirm_timeout
        self._connection: AbstractRobustConnection | None = None
        self._publish_channel: AbstractChannel | None = None
        self._exchange: AbstractExchange | None = None
        self._retry_schedule = list(retry_schedule)
        self._retry_queue_expires = retry_queue_expires
        self._consumers: list[tuple[AbstractQueue, str]] = []
        self._subscriptions: list[tuple[AbstractQueue, OnMessage]] = []
        self._batch_consumers: list[BatchConsumer] = []
        self._dead_letter_queues: list[str] = []
        # Told of every transient failure, so the service can pause until the cause is gone.
        self.on_transient_failure: Callable[[BaseException], None] | None = None
        self.paused_because: str | None = None
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def connected(self) -> bool:
        return self._connection is not None and not self._connection.is_closed

    async def connect(self) -> None:
        properties: dict[str, Any] = {"connection_name": self._name} if self._name else {}
        self._connection = await aio_pika.connect_robust(self._url, client_properties=properties)
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
                    user_id=self._user_id,
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
        """Declare the service's queue with its retry and dead-letter queues, bind, consume."""
        _, queue, failures = await self._open_queue(queue_name, bindings, self._prefetch)

        async def on_message(message: AbstractIncomingMessage) -> None:
            with self._handling(1):
                await _deliver(message, handler, failures)

        self._subscriptions.append((queue, on_message))
        if self.paused_because is None:
            self._consumers.append((queue, await queue.consume(on_message)))

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
        channel, _, failures = await self._open_queue(queue_name, bindings, prefetch)
        consumer = BatchConsumer(
            channel, queue_name, handler, max_batch, max_wait_seconds, self._handling, failures
        )
        self._batch_consumers.append(consumer)
        await consumer.start()

    async def _open_queue(
        self, queue_name: str, bindings: Sequence[str], prefetch: int
    ) -> tuple[AbstractChannel, AbstractQueue, Failures]:
        """A channel of its own with the queue declared (quorum, retry and dead-letter queues)."""
        assert self._connection is not None, "bus not connected"
        channel = await self._connection.channel()
        await channel.set_qos(prefetch_count=prefetch)
        exchange = await self._declare_exchange(channel)
        failures = Failures(
            self._failure_channel,
            queue_name,
            self._retry_schedule,
            self._transient_failure,
            user_id=self._user_id,
        )
        dead_letters = failures.dead_letters
        await channel.declare_queue(
            dead_letters, durable=True, arguments={"x-queue-type": "quorum"}
        )
        self._dead_letter_queues.append(dead_letters)
        for retry_queue, ttl_ms in failures.retry_queues().items():
            arguments: dict[str, Any] = {
                "x-queue-type": "quorum",
                "x-message-ttl": ttl_ms,
                "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": queue_name,
                # Expired messages are moved with the broker's confirmation (not at most once).
                "x-dead-letter-strategy": "at-least-once",
                "x-overflow": "reject-publish",
            }
            if self._retry_queue_expires is not None:
                arguments["x-expires"] = round(self._retry_queue_expires * 1000)
            await channel.declare_queue(retry_queue, durable=True, arguments=arguments)
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
        return channel, queue, failures

    def _failure_channel(self) -> AbstractChannel:
        assert self._publish_channel is not None, "bus not connected"
        return self._publish_channel

    def _transient_failure(self, exc: BaseException) -> None:
        if self.on_transient_failure is not None:
            self.on_transient_failure(exc)

    async def pause(self, reason: str) -> None:
        """Take no more deliveries until `resume`; those being handled finish."""
        if self.paused_because is not None:
            return
        self.paused_because = reason
        log.warning("consumers_paused", reason=reason)
        for queue, tag in self._consumers:
            with contextlib.suppress(Exception):
                await queue.cancel(tag)
        self._consumers.clear()
        for consumer in self._batch_consumers:
            await consumer.cancel()

    async def resume(self) -> None:
        if self.paused_because is None:
            return
        self.paused_because = None
        log.info("consumers_resumed")
        for queue, on_message in self._subscriptions:
            self._consumers.append((queue, await queue.consume(on_message)))
        for consumer in self._batch_consumers:
            await consumer.resume()

    async def dead_letter_counts(self) -> dict[str, int]:
        """How many messages wait in each dead-letter queue of this bus's consumers."""
        assert self._connection is not None, "bus not connected"
        counts: dict[str, int] = {}
        channel = await self._connection.channel()
        try:
            for name in self._dead_letter_queues:
                queue = await channel.declare_queue(name, passive=True)
                counts[name] = queue.declaration_result.message_count or 0
        finally:
            await channel.close()
        return counts

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
        self._subscriptions.clear()
        for consumer in self._batch_consumers:
            await consumer.cancel()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(grace_seconds):
                for consumer in self._batch_consumers:
                    await consumer.finish()
                await self._idle.wait()
        for consumer in self._batch_consumers:
            await consumer.close()
        self._batch_consumers.clear()


async def _deliver(
    message: AbstractIncomingMessage, handler: EnvelopeHandler, failures: Failures
) -> None:
    parsed = await parse_or_reject(message, failures)
    if parsed is None:
        return
    _, envelope = parsed
    set_correlation_id(envelope.correlation_id)
    try:
        await handler(envelope)
    except Exception as exc:
        log_failure(message, envelope)
        await failures.failed(message, exc, envelope.type)
        return
    count_handled([envelope])
    await message.ack()
