"""Every service's composition root, by name: for the documents made from all of them."""

from collections.abc import Callable

from fastapi import FastAPI

from services.analytics.app import create_app as analytics
from services.confirmation.app import create_app as confirmation
from services.escalation.app import create_app as escalation
from services.intake.app import create_app as intake
from services.ownership.app import create_app as ownership

APPS: dict[str, Callable[[], FastAPI]] = {
    "intake": intake,
    "escalation": escalation,
    "ownership": ownership,
    "confirmation": confirmation,
    "analytics": analytics,
}
