"""Analytics against the real broker and a real database (SQLite and PostgreSQL)."""

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from services.analytics.models import inbox
from tests.support.analytics import T0, Story, at, eventually, publish, scalar, started
from tests.support.env import Database, TestEnv


@pytest.fixture
async def analytics(env: TestEnv, database: Database) -> AsyncIterator[httpx.AsyncClient]:
    # One message at a time: once the last event published is recorded, all earlier ones are.
    async with started(env, database, bus_prefetch=1) as client:
        yield client


CORE = (
    "key",
    "received",
    "closed_confirmed",
    "rejected_resolutions",
    "reopen_rate",
    "median_hours_to_confirmation",
)


def core(metrics: Any) -> Any:
    """The metrics this test's events exercise; the others are checked in test_analytics_kpis."""
    if isinstance(metrics, list):
        return [core(m) for m in metrics]
    return {k: v for k, v in metrics.items() if k in CORE}


def kpis(key: Any, received: int, closed: int, rejected: int, rate: Any, hours: Any) -> Any:
    return {
        **({} if key == "totals" else {"key": key}),
        "received": received,
        "closed_confirmed": closed,
        "rejected_resolutions": rejected,
        "reopen_rate": rate,
        "median_hours_to_confirmation": hours,
    }


async def test_kpis_are_exact_with_duplicate_and_out_of_order_events(
    analytics: httpx.AsyncClient, env: TestEnv
) -> None:
    a, b, c, d = Story("email"), Story("email"), Story("sms"), Story("sms")
    before, after = Story("email"), Story("email")
    await publish(env, a.closed(5))
    row = await eventually(analytics, a.id, lambda r: r.status == "closed")
    assert row.received_at is None
    assert (await analytics.get("/v1/kpis")).json()["totals"]["received"] == 0

    rejected_twice = b.answered("rejected", 3)
    await publish(
        env,
        *(a.received(0), a.prioritized(0.1, "P2"), a.assigned(1, "o-1"), a.proposed(2)),
        a.answered("confirmed", 5),
        *(b.received(1), b.assigned(1.5, "o-2"), b.proposed(2), rejected_twice, rejected_twice),
        *(b.reopened(3.1), b.proposed(4, no=2), b.answered("confirmed", 10), b.closed(10)),
        *(c.received(2), c.proposed(3), c.answered("rejected", 4), c.reopened(4.1)),
        c.answered("confirmed", 5, channel="email"),
        d.received(3),
        *(before.received(-72), before.proposed(-71), before.closed(-70)),
        after.received(48),
    )
    await eventually(analytics, after.id, lambda r: r.received_at is not None)
    period = {"from": T0.isoformat(), "to": at(24).isoformat()}
    response = await analytics.get("/v1/kpis", params=period)
    assert response.status_code == 200, response.text
    body = response.json()
    assert datetime.fromisoformat(body["from"]) == T0 and body["group_by"] == "channel"
    assert core(body["groups"]) == [
        kpis("email", received=2, closed=2, rejected=1, rate=0.5, hours=7.0),
        kpis("sms", received=2, closed=0, rejected=1, rate=1.0, hours=None),
    ]
    assert core(body["totals"]) == kpis("totals", 4, 2, 2, 0.6667, 7.0)
    assert set(body["definitions"]) == set(body["totals"])

    by_priority = (
        await analytics.get("/v1/kpis", params={**period, "group_by": "priority"})
    ).json()
    assert core(by_priority["groups"]) == [
        kpis("P2", received=1, closed=1, rejected=0, rate=0.0, hours=5.0),
        kpis(None, received=3, closed=1, rejected=2, rate=1.0, hours=9.0),
    ]
    by_owner = (await analytics.get("/v1/kpis", params={**period, "group_by": "owner"})).json()
    assert [(g["key"], g["received"]) for g in by_owner["groups"]] == [
        ("o-1", 1),
        ("o-2", 1),
        (None, 2),
    ]
    everything = (await analytics.get("/v1/kpis")).json()
    assert everything["from"] is None and everything["totals"]["received"] == 6
    assert everything["totals"]["closed_confirmed"] == 3

    a_row = await eventually(analytics, a.id, lambda r: r.received_at is not None)
    assert (a_row.status, a_row.priority, a_row.team, a_row.owner_id) == (
        "closed",
        "P2",
        "billing",
        "o-1",
    )


async def test_concurrent_events_of_one_complaint_are_all_counted(
    env: TestEnv, database: Database
) -> None:
    story = Story()
    events = [story.received(0)] + [story.answered("rejected", 1 + i / 10) for i in range(20)]
    async with started(env, database, bus_prefetch=32) as client:
        await publish(env, *events)
        handled = select(func.count()).select_from(inbox)
        for _ in range(200):
            if (await scalar(client, handled))[0] == len(events):
                break
            await asyncio.sleep(0.05)
        row = await eventually(client, story.id, lambda r: True)
    assert row.rejections == 20 and row.received_at is not None
