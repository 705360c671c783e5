"""Real infrastructure for tests: unique broker names, throwaway PostgreSQL databases."""

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from urllib.parse import urlparse

import aio_pika
import asyncpg

from shared import brokerusers
from shared.publishers import SERVICES, owner_of

# The administrator's login: for set-up, clean-up and forging attacks, never for a service.
AMQP_URL = os.environ.get("TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
_BROKER = urlparse(AMQP_URL)


def service_url(service: str) -> str:
    """The service's own broker login on the test broker (created by `broker_users`)."""
    return brokerusers.service_url(service, _BROKER.hostname or "127.0.0.1", _BROKER.port or 5672)


def publisher_url(event_type: str) -> str:
    """The login of the service that owns `event_type`: the only one consumers accept it from."""
    owner = owner_of(event_type)
    if owner is None:
        raise ValueError(f"no service owns {event_type!r}")
    return service_url(owner)


async def grant_topics(exchange: str) -> None:
    """Each service's topic permissions on a test's own exchange (the broker keys them by name)."""
    await asyncio.to_thread(brokerusers.grant_topics, exchange)


def broker_users() -> dict[str, str]:
    """Create every service's user (idempotent); `<SERVICE>_AMQP_URL` for each, for processes."""
    brokerusers.ensure_users()
    return {f"{s.upper()}_AMQP_URL": service_url(s) for s in SERVICES}


PG_ADMIN_DSN = os.environ.get("TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")


def run_id() -> str:
    return uuid.uuid4().hex[:10]


@asynccontextmanager
async def postgres_database(name: str) -> AsyncIterator[str]:
    """Create a fresh database; yield its SQLAlchemy URL; drop it afterwards."""
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    try:
        yield f"{base}/{name}"
    finally:
        admin = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


async def delete_broker_objects(exchange: str, queue_prefix: str, services: list[str]) -> None:
    """Remove what a test declared, so no run depends on another's leftovers."""
    connection = await aio_pika.connect(AMQP_URL)
    try:
        for service in services:
            for name in (f"{queue_prefix}{service}", f"{queue_prefix}{service}.dlq"):
                channel = await connection.channel()
                with suppress(aio_pika.exceptions.ChannelClosed):
                    await channel.queue_delete(name)
        channel = await connection.channel()
        with suppress(aio_pika.exceptions.ChannelClosed):
            await channel.exchange_delete(exchange)
    finally:
        await connection.close()


async def close_database(name: str) -> None:
    """An outage of one database without touching the server others share: refuse new
    connections and end the open ones (`open_database` ends it)."""
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name
        )
    finally:
        await admin.close()


async def open_database(name: str) -> None:
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
    finally:
        await admin.close()
