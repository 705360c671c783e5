"""What the shared fixtures give a test: its `env` (a `TestEnv`) and the `database` factory.

Here rather than in conftest so tests and helpers can name these types without importing
conftest.
"""

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.infra import AMQP_URL, service_url
from tests.support.probe import BusProbe
from tests.support.publisher import OwnerBus


@dataclass
class TestEnv:
    # Not a test class, though its name says Test: pytest leaves it alone where it is imported.
    __test__ = False

    run: str
    backend: str
    tmp: Path
    amqp_url: str = AMQP_URL
    databases: dict[str, str] = field(default_factory=dict)

    @property
    def exchange(self) -> str:
        return f"complaints.t{self.run}"

    @property
    def queue_prefix(self) -> str:
        return f"t{self.run}."

    def probe(self, binding: str = "#") -> BusProbe:
        return BusProbe(self.amqp_url, self.exchange, binding)

    def service_url(self, service: str) -> str:
        return service_url(service)

    def publisher(self) -> OwnerBus:
        """Publishes each event as the service that owns its type (consumers refuse others)."""
        return OwnerBus(self.exchange)


# `async with database("intake") as url`: a fresh database for that service.
Database = Callable[[str], AbstractAsyncContextManager[str]]
