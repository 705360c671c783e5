"""Analytics fed with events the services really emitted, recorded by scripts/record_events.py.

The recording (tests/data/recorded_events.jsonl) holds three email complaints run through the
real system: one task then a confirmed closure, one rejection, reopen and confirmed closure, and
one cannot-fulfil outcome the customer acknowledged. If an event's schema changes, the first test
fails until the file is recorded again, so the read model is never tested against events nobody
sends.
"""

import asyncio
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from shared.events import EVENT_DATA, Envelope
from tests.support.analytics import publish, started
from tests.support.env import Database, TestEnv

RECORDED = Path(__file__).resolve().parents[1] / "data" / "recorded_events.jsonl"


def recorded() -> list[Envelope]:
    return [Envelope.model_validate(json.loads(line)) for line in RECORDED.read_text().splitlines()]


def test_every_recorded_event_matches_the_current_schema() -> None:
    events = recorded()
    assert events
    for event in events:
        model = EVENT_DATA.get(event.type)
        assert model is not None, f"{event.type} is no longer an event type"
        model.model_validate(event.data)
        # Event data allows extra fields; a recorded field the schema no longer names is stale.
        unknown = set(event.data) - set(model.model_fields)
        assert not unknown, f"{event.type} carries fields the schema lacks: {unknown}"
        assert event.producer in {"intake", "escalation", "ownership", "confirmation"}
    types = Counter(e.type for e in events)
    assert types["complaint.received"] == 3
    assert types["case.closed"] == 3
    assert types["case.reopened"] == 1
    outcomes = sorted(e.data["outcome"] for e in events if e.type == "case.closed")
    assert outcomes == ["cannot_fulfil", "resolved", "resolved"]


async def kpis_when(client: Any, check: Any) -> dict[str, Any]:
    for _ in range(300):
        body = (await client.get("/v1/kpis", params={"group_by": "channel"})).json()
        email: dict[str, Any] = next((g for g in body.get("groups", []) if g["key"] == "email"), {})
        if check(email):
            return {"email": email, "total": body.get("total")}
        await asyncio.sleep(0.05)
    raise AssertionError(f"KPIs never settled: {body}")


async def test_analytics_reports_the_recorded_runs_figures(
    env: TestEnv, database: Database
) -> None:
    if env.backend != "sqlite":
        pytest.skip("one backend is enough for the figures; both are covered by the KPI tests")
    events = recorded()
    async with started(env, database, bus_prefetch=1) as client:
        await publish(env, *events)
        report = await kpis_when(client, lambda k: k.get("closed_confirmed") == 3)
    email = report["email"]
    assert email["received"] == 3
    assert email["rejected_resolutions"] == 1
    assert email["reopen_rate"] == round(1 / 3, 4)  # figures are given to four places
    assert email["cannot_fulfil_share"] == round(1 / 3, 4)  # figures are given to four places
    assert email["median_hours_to_confirmation"] is not None
    assert email["marked_resolved"] == 3
    assert email["attested_share"] == 0.0  # every yes came by mail, none on an attestation
    assert email["department_sla_compliance"] == 1.0  # the one task was done at once
