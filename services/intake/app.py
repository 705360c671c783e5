"""Composition root of the intake service."""

import os
from pathlib import Path

from fastapi import FastAPI

from services.intake import erasure_api
from services.intake.api import router
from services.intake.consumers import build_handlers
from services.intake.customer_api import router as customer_router
from services.intake.models import metadata
from services.intake.retention import retention_worker
from services.intake.search_api import router as search_router
from services.intake.settings import IntakeSettings
from shared import accesslog
from shared.runner import stop_when_orphaned
from shared.service import ServiceSpec, create_service_app


def create_app(settings: IntakeSettings | None = None, *, supervised: bool = False) -> FastAPI:
    settings = settings or IntakeSettings()
    parent = os.getppid()
    return create_service_app(
        ServiceSpec(
            settings=settings,
            metadata=metadata,
            migrations_dir=Path(__file__).parent / "migrations",
            title="Intake",
            description="Complaints from every channel enter here and become `complaint.received`.",
            routers=[router, search_router, customer_router, erasure_api.router, accesslog.router],
            handlers=build_handlers,
            workers=[
                retention_worker,
                *([lambda _: stop_when_orphaned(parent)] if supervised else []),
            ],
        )
    )


def create_worker_app() -> FastAPI:
    """The app of one of several worker processes under uvicorn's supervisor (INTAKE_WORKERS)."""
    return create_app(supervised=True)
