"""Run one service under uvicorn (uvloop + httptools), as `make run` and the e2e tests do."""

import uvicorn
from fastapi import FastAPI

from shared.settings import ServiceSettings


def serve(app: FastAPI, settings: ServiceSettings) -> None:
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        access_log=False,
        log_config=None,
        timeout_graceful_shutdown=5,
    )
