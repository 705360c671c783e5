"""Every service's composition root, by name, and the documents made from all of them."""

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from services.analytics.app import create_app as analytics
from services.confirmation.app import create_app as confirmation
from services.escalation.app import create_app as escalation
from services.intake.app import create_app as intake
from services.ownership.app import create_app as ownership
from shared import asyncapi
from shared.service import ServiceSpec

APPS: dict[str, Callable[[], FastAPI]] = {
    "intake": intake,
    "escalation": escalation,
    "ownership": ownership,
    "confirmation": confirmation,
    "analytics": analytics,
}


def system_asyncapi() -> dict[str, Any]:
    """The AsyncAPI document of the whole bus: every service's sends and receives."""
    specs: list[ServiceSpec] = [create().state.spec for create in APPS.values()]
    return asyncapi.document(
        [asyncapi.subscription_of(spec) for spec in specs],
        services=list(APPS),
        exchange=specs[0].settings.bus_exchange,
        title="Complaint events",
    )
