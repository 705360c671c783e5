"""Run a service in-process with its real lifespan, database and broker; talk to it over ASGI."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import Select, column, select, table

from shared.auth import mint_token
from shared.events import Envelope
from shared.settings import ServiceSettings
from tests.support.env import TestEnv


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


def app_of(client: httpx.AsyncClient) -> FastAPI:
    """The app a client from `running` talks to, for its state (engine, settings, runtime)."""
    transport = client._transport
    assert isinstance(transport, httpx.ASGITransport)
    assert isinstance(transport.app, FastAPI)
    return transport.app


def auth(settings: ServiceSettings, role: str, subject: str = "tester") -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(settings.auth_secret, role, subject)}"}


def common_settings(env: TestEnv, database_url: str, **extra: Any) -> dict[str, Any]:
    """A service's settings in a test; its broker login is its own (`<SERVICE>_AMQP_URL`)."""
    return {
        "app_env": "test",
        "bus_exchange": env.exchange,
        "bus_queue_prefix": env.queue_prefix,
        "database_url": database_url,
        "outbox_poll_seconds": 0.05,
        # Retries within a test's time; the retry queues of a run are removed by the broker.
        "bus_retry_schedule": "0.2,0.4,0.8",
        "bus_retry_queue_expires_seconds": 600,
        "bus_outage_probe_seconds": 0.2,
        # The suite runs at any hour; quiet hours have tests of their own (confirmation only).
        "quiet_hours_enabled": False,
        # Escalations are mailed and posted only where a test asks (test_escalation_notifications).
        "notifications_enabled": False,
        # The satisfaction question after a closure likewise (test_satisfaction.py, e2e).
        "survey_enabled": False,
        **extra,
    }


async def outbox_events(client: httpx.AsyncClient, type_: str) -> list[Envelope]:
    """Events of one type a running service committed to its outbox: published or about to be."""
    app = app_of(client)
    query: Select[tuple[Any]] = select(column("body")).select_from(table("outbox"))
    async with app.state.engine.connect() as conn:
        bodies = (await conn.execute(query)).scalars().all()
    events = [Envelope.model_validate_json(body) for body in bodies]
    return [event for event in events if event.type == type_]
