"""Fixtures: every test gets its own exchange, queue names and databases on the real services."""

import fcntl
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from tests.support.env import Database, TestEnv
from tests.support.infra import (
    broker_users,
    delete_broker_objects,
    postgres_database,
    run_id,
)

SERVICES = ["intake", "escalation", "ownership", "confirmation", "analytics"]

# The launched system of the console's tests (`console`, one per module that asks for it).
pytest_plugins = ["tests.support.console_system"]


@pytest.fixture(scope="session", autouse=True)
def _broker_users(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Every service's broker user exists; services started in tests find their login in env.

    Parallel workers take turns: two creating the same user at once would fail on the second.
    """
    lock = tmp_path_factory.getbasetemp().parent / "broker-users.lock"
    with lock.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        os.environ.update(broker_users())


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def env(backend: str, tmp_path: Path) -> AsyncIterator[TestEnv]:
    test_env = TestEnv(run=run_id(), backend=backend, tmp=tmp_path)
    try:
        yield test_env
    finally:
        await delete_broker_objects(test_env.exchange, test_env.queue_prefix, SERVICES)


@pytest.fixture
def database(env: TestEnv) -> Database:
    """A factory: `async with database("intake") as url` gives that service a fresh database."""

    @asynccontextmanager
    async def make(service: str) -> AsyncIterator[str]:
        if env.backend == "sqlite":
            yield f"sqlite+aiosqlite:///{env.tmp / (service + '.db')}"
            return
        async with postgres_database(f"t_{env.run}_{service}") as url:
            yield url

    return make
