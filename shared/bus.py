"""The event bus on RabbitMQ (aio-pika).

Durable topic exchange; one quorum queue per consuming service whose poison messages go to a
dead-letter queue after a bounded number of deliveries; persistent messages published with
confirms; robust connections that reconnect and restore their consumers.
"""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
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
        assert self._connection is not None, "bus not connected"
        channel = await self._connection.channel()
        await channel.set_qos(prefetch_count=self._prefetch)
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

        async def on_message(message: AbstractIncomingMessage) -> None:
            self._in_flight += 1
            self._idle.clear()
            try:
                await _deliver(message, handler)
            finally:
                self._in_flight -= 1
                if self._in_flight == 0:
                    self._idle.set()

        tag = await queue.consume(on_message)
        self._consumers.append((queue, tag))

    async def drain(self, grace_seconds: float = 10.0) -> None:
        """Stop taking messages and let those being handled finish (graceful shutdown)."""
        for queue, tag in self._consumers:
            with contextlib.suppress(Exception):
                await queue.cancel(tag)
        self._consumers.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(grace_seconds):
                await self._idle.wait()

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
    try:
        envelope = Envelope.model_validate_json(message.body)
    except ValidationError as exc:
        log.error("event_malformed", routing_key=message.routing_key, error=str(exc))
        EVENTS_CONSUMED.labels(message.routing_key or "", "dead_lettered").inc()
        await message.reject(requeue=False)
        return
    set_correlation_id(envelope.correlation_id)
    try:
        await handler(envelope)
    except Exception:
        count = _delivery_count(message.headers)
        log.exception("event_failed", type=envelope.type, event_id=envelope.event_id, attempt=count)
        EVENTS_CONSUMED.labels(envelope.type, "failed").inc()
        await asyncio.sleep(retry_delay(count))
        await message.nack(requeue=True)
        return
    EVENTS_CONSUMED.labels(envelope.type, "handled").inc()
    await message.ack()


def _delivery_count(headers: dict[str, Any] | None) -> int:
    value = (headers or {}).get("x-delivery-count", 0)
    return int(value) if isinstance(value, int | str) and str(value).isdigit() else 0
