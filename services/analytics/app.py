"""Composition root of the analytics service."""

from pathlib import Path

from fastapi import FastAPI

from services.analytics.api import router
from services.analytics.bi import enable_bi_login
from services.analytics.consumers import BINDINGS, build_batch_handler
from services.analytics.models import metadata
from services.analytics.reactions import ensure_rollup, tune_process
from services.analytics.settings import AnalyticsSettings
from shared.service import ServiceSpec, create_service_app


def create_app(settings: AnalyticsSettings | None = None) -> FastAPI:
    settings = settings or AnalyticsSettings()
    return create_service_app(
        ServiceSpec(
            settings=settings,
            metadata=metadata,
            migrations_dir=Path(__file__).parent / "migrations",
            title="Analytics",
            description="Customer-side KPIs from a read model of all events, no personal data.",
            routers=[router],
            batch_handler=build_batch_handler,
            bindings=BINDINGS,
            on_start=[tune_process, enable_bi_login, ensure_rollup],
        )
    )
