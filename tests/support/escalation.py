"""Helpers for the escalation tests and benchmark: complaints, generated streams, the service."""

import csv
import random
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from services.escalation.app import create_app
from services.escalation.settings import REPO_ROOT, EscalationSettings
from shared.events import ComplaintReceived, Envelope, new_event
from tests.support.env import TestEnv
from tests.support.publisher import OwnerBus
from tests.support.services import auth, common_settings, running

CFPB = REPO_ROOT / "data" / "cfpb"
PRODUCTS = ("Kettle K1", "Kettle K2", "Toaster T1", "Blender B1")
REGIONS = ("CA", "OR", "NV", "WA")

Values = dict[str, str]


def received(
    complaint_id: str | None = None, at: datetime | None = None, **overrides: Any
) -> Envelope:
    data: dict[str, Any] = {
        "reference": "CMP-" + uuid.uuid4().hex[:8].upper(),
        "customer_key": "k" * 64,
        "channel": "email",
        "contact": "ana@example.com",
        "category": "appliances",
        "product": "Kettle K2",
        "region": "CA",
        "description": "It stopped working after a week.",
        "received_at": at or datetime.now(UTC),
    }
    data.update(overrides)
    return new_event(
        "complaint.received",
        ComplaintReceived(**data),
        producer="intake",
        complaint_id=complaint_id or str(uuid.uuid4()),
    )


def hour_start(hours_ago: int) -> datetime:
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    return now - timedelta(hours=hours_ago)


def noise(
    start: datetime, hours: int, per_hour: int, seed: int = 3
) -> list[tuple[datetime, Values]]:
    """Steady background: appliances complaints spread evenly over products and regions."""
    rnd = random.Random(seed)
    step = timedelta(minutes=60 / per_hour)
    return [
        (
            start + step * i,
            {
                "product": rnd.choice(PRODUCTS),
                "category": "appliances",
                "region": rnd.choice(REGIONS),
            },
        )
        for i in range(hours * per_hour)
    ]


def burst(start: datetime, count: int, minutes_apart: int = 10) -> list[tuple[datetime, Values]]:
    values = {"product": "Kettle K2", "category": "appliances", "region": "CA"}
    return [(start + timedelta(minutes=minutes_apart * i), dict(values)) for i in range(count)]


def cfpb_rows() -> Iterator[Values]:
    """Every CFPB sample record as (product, category = issue, region = state)."""
    for path in sorted(CFPB.glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.reader(handle):
                if row[0].lower().startswith("date"):
                    continue
                yield {"product": row[1], "category": row[3], "region": row[8]}


def cfpb_background(start: datetime, per_hour: int, seed: int = 7) -> list[tuple[datetime, Values]]:
    """The CFPB samples as steady background: their real mix, arriving at an even rate."""
    rows = list(cfpb_rows())
    random.Random(seed).shuffle(rows)
    step = timedelta(minutes=60 / per_hour)
    return [(start + step * i, row) for i, row in enumerate(rows)]


def quick_config(directory: Path, warmup_hours: int = 24) -> Path:
    """The shipped escalation.toml with a shorter warm-up, so a test replays less history."""
    shipped = (REPO_ROOT / "config" / "escalation.toml").read_text(encoding="utf-8")
    assert "warmup_buckets = 48" in shipped
    path = directory / "escalation.toml"
    path.write_text(shipped.replace("warmup_buckets = 48", f"warmup_buckets = {warmup_hours}"))
    return path


@asynccontextmanager
async def publisher(env: TestEnv) -> AsyncIterator[OwnerBus]:
    bus = env.publisher()
    await bus.connect()
    try:
        yield bus
    finally:
        await bus.close()


@asynccontextmanager
async def started(env: TestEnv, url: str, **extra: Any) -> AsyncIterator[httpx.AsyncClient]:
    # One message at a time, so that when a later event is answered the earlier ones were too.
    settings = EscalationSettings(**common_settings(env, url, bus_prefetch=1, **extra))
    async with running(create_app(settings)) as client:
        client.headers.update(auth(settings, "supervisor", "sup-1"))
        yield client
