"""The operator's tool for a service's dead-letter queue: list, show, replay, drop.

    python -m shared.deadletters list <service>
    python -m shared.deadletters show <service> [--limit N]
    python -m shared.deadletters replay <service> [--limit N]
    python -m shared.deadletters drop <service> --yes [--limit N]

The broker URL, exchange and queue prefix are the service's own settings (AMQP_URL,
BUS_EXCHANGE, BUS_QUEUE_PREFIX from the environment). A replay puts the messages back on the
service's work queue in their order, with a fresh retry schedule; consumers are idempotent, so
replaying a message that was in fact handled changes nothing.
"""

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlparse

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractQueue

from shared.delivery import ORIGINAL_ROUTING_KEY, ORIGINAL_USER_ID
from shared.retries import DEATH_REASON, LAST_ERROR, RETRY_COUNT
from shared.settings import ServiceSettings

SERVICES = ("intake", "escalation", "ownership", "confirmation", "analytics")
# What a replayed copy leaves behind: the broker's dead-lettering records and the last verdict.
_DROPPED_ON_REPLAY = (
    "x-death",
    "x-delivery-count",
    "x-first-death-exchange",
    "x-first-death-queue",
    "x-first-death-reason",
    RETRY_COUNT,
    DEATH_REASON,
    LAST_ERROR,
)


@dataclass(frozen=True)
class DeadLetter:
    message_id: str | None
    headers: dict[str, Any]
    body: bytes

    @property
    def reason(self) -> str:
        # Messages rejected by the broker itself (delivery limit) carry only its x-death.
        return str(self.headers.get(DEATH_REASON) or _broker_reason(self.headers) or "unknown")


def _replayed_headers(
    headers: dict[str, Any], user_id: str | None, own: str | None
) -> dict[str, Any]:
    """The copy's headers: who first published it kept, so its consumer still checks that.

    The kept publisher is believed only on a dead letter this service wrote under its own login
    (anyone may drop a message into a queue through the default exchange). A message the broker
    dead-lettered itself (delivery limit) is its own `user_id`, under the routing key `x-death`
    recorded first.
    """
    kept = {k: v for k, v in headers.items() if k not in _DROPPED_ON_REPLAY}
    if not own or user_id != own:
        kept.pop(ORIGINAL_USER_ID, None)
        kept.pop(ORIGINAL_ROUTING_KEY, None)
    if ORIGINAL_USER_ID not in kept:
        kept[ORIGINAL_USER_ID] = user_id or ""
        deaths = headers.get("x-death")
        keys = deaths[0].get("routing-keys") if isinstance(deaths, list) and deaths else None
        if isinstance(keys, list) and keys:
            kept[ORIGINAL_ROUTING_KEY] = str(keys[0])
    return kept


def _login(url: str) -> str | None:
    return unquote(urlparse(url).username or "") or None


def _broker_reason(headers: dict[str, Any]) -> str | None:
    deaths = headers.get("x-death")
    if isinstance(deaths, list) and deaths and isinstance(deaths[0], dict):
        return f"broker: {deaths[0].get('reason')}"
    return None


class DeadLetterQueue:
    def __init__(self, settings: ServiceSettings):
        self.settings = settings
        self.work_queue = settings.queue_name()
        self.name = settings.queue_name(".dlq")

    async def _open(
        self, connection: aio_pika.abc.AbstractConnection
    ) -> tuple[AbstractChannel, AbstractQueue]:
        channel = await connection.channel(publisher_confirms=True)
        return channel, await channel.declare_queue(self.name, passive=True)

    async def count(self) -> int:
        async with await aio_pika.connect(self.settings.broker_url) as connection:
            _, queue = await self._open(connection)
            return queue.declaration_result.message_count or 0

    async def show(self, limit: int = 100) -> list[DeadLetter]:
        """The first messages, left in the queue: back in it, in their order, when this returns."""
        async with await aio_pika.connect(self.settings.broker_url) as connection:
            channel, queue = await self._open(connection)
            taken = await _take(queue, limit)
            await _put_back(channel, queue, taken)
            return [_dead_letter(m) for m in taken]

    async def replay(self, limit: int | None = None) -> int:
        """Move messages, oldest first, to the work queue; each acked once its copy is confirmed."""
        async with await aio_pika.connect(self.settings.broker_url) as connection:
            channel, queue = await self._open(connection)
            # Only what is there now: a message that fails again comes back behind them.
            waiting = queue.declaration_result.message_count or 0
            moved = 0
            for message in await _take(queue, waiting if limit is None else min(limit, waiting)):
                copy = aio_pika.Message(
                    message.body,
                    headers=_replayed_headers(
                        message.headers or {}, message.user_id, _login(self.settings.broker_url)
                    ),
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                    content_type=message.content_type or "application/json",
                    message_id=message.message_id,
                    user_id=_login(self.settings.broker_url),
                )
                await channel.default_exchange.publish(copy, routing_key=self.work_queue)
                await message.ack()
                moved += 1
            return moved

    async def drop(self, limit: int | None = None) -> list[str | None]:
        """Remove messages for good; the message ids removed."""
        async with await aio_pika.connect(self.settings.broker_url) as connection:
            _, queue = await self._open(connection)
            waiting = queue.declaration_result.message_count or 0
            dropped = []
            for message in await _take(queue, waiting if limit is None else min(limit, waiting)):
                await message.ack()
                dropped.append(message.message_id)
            return dropped

    async def purge(self, complaint_ids: set[str]) -> int:
        """Remove for good the messages of these complaints (an erasure); the others stay, in
        their order."""
        async with await aio_pika.connect(self.settings.broker_url) as connection:
            channel, queue = await self._open(connection)
            waiting = queue.declaration_result.message_count or 0
            kept, purged = [], 0
            for message in await _take(queue, waiting):
                if _complaint_of(message.body) in complaint_ids:
                    await message.ack()
                    purged += 1
                else:
                    kept.append(message)
            await _put_back(channel, queue, kept)
            return purged


def _complaint_of(body: bytes) -> str | None:
    try:
        value = json.loads(body).get("complaint_id")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


async def _take(queue: AbstractQueue, limit: int) -> list[AbstractIncomingMessage]:
    taken: list[AbstractIncomingMessage] = []
    while len(taken) < limit:
        message = await queue.get(no_ack=False, fail=False)
        if message is None:
            break
        taken.append(message)
    return taken


async def _put_back(
    channel: AbstractChannel, queue: AbstractQueue, taken: list[AbstractIncomingMessage]
) -> None:
    """Return messages taken unacknowledged to the queue, and wait (a few seconds at most) until
    the broker counts them again, so that a count right after sees them."""
    if not taken:
        return
    # One reject of everything up to the last delivery tag keeps the order they were in.
    await taken[-1].nack(multiple=True, requeue=True)
    for _ in range(50):
        declared = await channel.declare_queue(queue.name, passive=True)
        if (declared.declaration_result.message_count or 0) >= len(taken):
            return
        await asyncio.sleep(0.1)


def _dead_letter(message: AbstractIncomingMessage) -> DeadLetter:
    return DeadLetter(message.message_id, dict(message.headers or {}), message.body)


def _printable(headers: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(headers, default=str))


async def run(argv: Sequence[str], settings: ServiceSettings | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m shared.deadletters",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("command", choices=["list", "show", "replay", "drop"])
    parser.add_argument("service", choices=SERVICES)
    parser.add_argument("--limit", type=int, default=None, help="at most this many messages")
    parser.add_argument("--yes", action="store_true", help="confirm a drop")
    args = parser.parse_args(argv)
    settings = settings or ServiceSettings(service_name=args.service)
    queue = DeadLetterQueue(settings)
    if args.command == "list":
        print(f"{queue.name}\t{await queue.count()}")
    elif args.command == "show":
        for letter in await queue.show(args.limit or 100):
            print(f"--- {letter.message_id}  reason: {letter.reason}")
            print(json.dumps(_printable(letter.headers), indent=2, sort_keys=True))
            print(letter.body.decode("utf-8", "replace"))
    elif args.command == "replay":
        moved = await queue.replay(args.limit)
        print(f"replayed {moved} message(s) from {queue.name} to {queue.work_queue}")
    else:
        if not args.yes:
            print("drop removes messages for good: add --yes to confirm", file=sys.stderr)
            return 2
        dropped = await queue.drop(args.limit)
        print(f"dropped {len(dropped)} message(s) from {queue.name}")
        for message_id in dropped:
            print(message_id)
    return 0


def main() -> None:
    sys.exit(asyncio.run(run(sys.argv[1:])))


if __name__ == "__main__":
    main()
