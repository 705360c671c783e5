"""Intake in a test: a complaint as the front end files it, and how many the service stored."""

from typing import Any

import httpx
from sqlalchemy import func, select

from services.intake.models import complaints
from services.intake.settings import IntakeSettings
from tests.support.services import app_of

# What a module's `intake` fixture gives its tests: a signed-in front-end client and its settings.
Intake = tuple[httpx.AsyncClient, IntakeSettings]


def complaint_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "customer": {"name": "Ana Lima", "email": "ana@example.com"},
        "channel": "email",
        "contact": "Ana@Example.com",
        "category": "billing",
        "product": "Credit card",
        "region": "CA",
        "description": "I was charged twice for the same purchase.",
        "facts": {"what": "double charge", "where": "online store", "when": "2026-11-20"},
    }
    body.update(overrides)
    return body


async def stored_count(client: httpx.AsyncClient) -> int:
    engine = app_of(client).state.engine
    async with engine.connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(complaints)))
