"""Publishing in tests as the services do: each event under the login of the service owning it."""

from typing import Any

from shared.bus import Bus
from shared.events import Envelope
from shared.publishers import owner_of
from tests.support.infra import service_url


class OwnerBus:
    """`Bus`'s publishing side, with one connection per owning service, opened when first used."""

    def __init__(self, exchange: str):
        self._exchange = exchange
        self._buses: dict[str, Bus] = {}

    async def connect(self) -> None:
        """Connections open on first publish; kept for `Bus`'s interface."""

    async def _bus(self, owner: str) -> Bus:
        if owner not in self._buses:
            bus = Bus(service_url(owner), self._exchange)
            await bus.connect()
            self._buses[owner] = bus
        return self._buses[owner]

    async def publish(self, *events: Envelope) -> None:
        for event in events:
            owner = owner_of(event.type)
            if owner is None:
                raise ValueError(f"no service owns {event.type!r}")
            await (await self._bus(owner)).publish(event)

    async def close(self) -> None:
        for bus in self._buses.values():
            await bus.close()
        self._buses.clear()

    async def __aenter__(self) -> "OwnerBus":
        return self

    async def __aexit__(self, *_: Any) -> None:
        await self.close()
