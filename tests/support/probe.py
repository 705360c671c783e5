"""A test's own queue on the exchange: records every event so tests can wait for one."""

import asyncio
from collections.abc import Callable
from typing import Any

import aio_pika
from aio_pika.abc import AbstractIncomingMessage

from shared.events import Envelope


class BusProbe:
    def __init__(self, amqp_url: str, exchange: str, binding: str = "#"):
        self._url, self._exchange, self._binding = amqp_url, exchange, binding
        self.events: list[Envelope] = []
        self.routing_keys: list[str] = []
        self._changed = asyncio.Condition()

    async def __aenter__(self) -> "BusProbe":
        self._connection = await aio_pika.connect(self._url)
        channel = await self._connection.channel()
        exchange = await channel.declare_exchange(
            self._exchange, aio_pika.ExchangeType.TOPIC, durable=True
        )
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        await queue.bind(exchange, self._binding)
        await queue.consume(self._on_message, no_ack=True)
        return self

    async def __aexit__(self, *_: Any) -> None:
        await self._connection.close()

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        async with self._changed:
            self.events.append(Envelope.model_validate_json(message.body))
            self.routing_keys.append(message.routing_key or "")
            self._changed.notify_all()

    def of_type(self, type_: str, complaint_id: str | None = None) -> list[Envelope]:
        return [
            e
            for e in self.events
            if e.type == type_ and (complaint_id is None or e.complaint_id == complaint_id)
        ]

    async def wait_for(
        self,
        type_: str,
        complaint_id: str | None = None,
        where: Callable[[Envelope], bool] = lambda _: True,
        timeout: float = 15.0,
        count: int = 1,
    ) -> Envelope:
        def found() -> list[Envelope]:
            return [e for e in self.of_type(type_, complaint_id) if where(e)]

        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: len(found()) >= count), timeout)
        return found()[count - 1]
