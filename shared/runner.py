"""Run one service under uvicorn (uvloop + httptools), as `make run` and the e2e tests do.

A stateless service may run several worker processes (`serve_workers`): uvicorn's supervisor
binds the port once and forks them, each with its own lifespan (database pool, broker
connection, outbox relay; the relays share the outbox safely on PostgreSQL). A worker whose
supervisor is gone (`kill -9`) stops by itself, so a restarted service can bind its port again.
"""

import asyncio
import os
import signal

import uvicorn
from fastapi import FastAPI

from shared.logging import get_logger
from shared.settings import ServiceSettings

log = get_logger(__name__)

PARENT_CHECK_SECONDS = 1.0


def _options(settings: ServiceSettings) -> dict[str, object]:
    return {
        "host": settings.host,
        "port": settings.port,
        "access_log": False,
        "log_config": None,
        "timeout_graceful_shutdown": 5,
    }


def serve(app: FastAPI, settings: ServiceSettings) -> None:
    uvicorn.run(app, **_options(settings))  # type: ignore[arg-type]


def serve_workers(factory: str, settings: ServiceSettings, workers: int) -> None:
    """`factory` ("package.module:function") builds the app in each of `workers` processes."""
    uvicorn.run(factory, factory=True, workers=workers, **_options(settings))  # type: ignore[arg-type]


async def stop_when_orphaned(parent_pid: int) -> None:
    """A worker's background loop: end the process gracefully once its supervisor is gone."""
    while True:
        await asyncio.sleep(PARENT_CHECK_SECONDS)
        if os.getppid() != parent_pid:
            break
    log.warning("supervisor_gone", parent=parent_pid)
    os.kill(os.getpid(), signal.SIGTERM)
