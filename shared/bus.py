"""The event bus on RabbitMQ (aio-pika).

Durable topic exchange; one quorum queue per consuming service whose poison messages go to a
dead-letter queue after a bounded number of deliveries; persistent messages published with
confirms; robust connections that reconnect and restore their consumers. A queue is consumed
one message at a time (`consume`) or in batches handed to one handler call (`consume_batches`).
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
from shared.delivery import (
    count_handled,
    delivery_count,
    log_failure,
    parse_or_reject,
    retry_delay,
)
from shared.events import Envelope
from shared.logging import get_logger

log = get_logger(__name__)

EnvelopeHandler = Callable[[Envelope], Awaitable[None]]
__all__ = ["BatchHandler", "Bus", "OutgoingMessage", "retry_delay"]


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
        self._consumers: list[tuple[AbstractQueue, str]] = []
        self._batch_consumers: list[BatchConsumer] = []
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
        channel, _ = await self._open_queue(queue_name, bindings, prefetch)
        consumer = BatchConsumer(
            channel, queue_name, handler, max_batch, max_wait_seconds, self._handling
        )
        self._batch_consumers.append(consumer)
        await consumer.start()

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


async def _deliver(message: AbstractIncomingMessage, handler: EnvelopeHandler) -> None:
    parsed = await parse_or_reject(message)
    if parsed is None:
        return
    _, envelope = parsed
    set_correlation_id(envelope.correlation_id)
    try:
        await handler(envelope)
    except Exception:
        log_failure(message, envelope)
        await asyncio.sleep(retry_delay(delivery_count(message.headers)))
        await message.nack(requeue=True)
        return
    count_handled([envelope])
    await message.ack()
