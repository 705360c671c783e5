"""Erasure in analytics: the customer's pseudonym and reference go, every KPI stays."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from shared.events import CustomerErasureRequested, new_event
from tests.service.test_analytics_privacy import every_stored_text
from tests.support.analytics import Story, at, eventually, publish, started
from tests.support.env import Database, TestEnv
from tests.support.services import app_of, auth, outbox_events

KEY, REFERENCE = "e" * 64, "CMP-ERASEME1"


@pytest.fixture
async def analytics(env: TestEnv, database: Database) -> AsyncIterator[httpx.AsyncClient]:
    async with started(env, database, bus_prefetch=1) as client:
        yield client


async def all_kpis(client: httpx.AsyncClient) -> list[Any]:
    period = {"from": at(-24).isoformat(), "to": at(24 * 20).isoformat()}
    reports = []
    for group_by in ("channel", "category", "priority", "owner"):
        response = await client.get("/v1/kpis", params={**period, "group_by": group_by})
        assert response.status_code == 200, response.text
        body = response.json()
        body.pop("as_of", None)
        reports.append(body)
    fca = await client.get(
        "/v1/reports/fca-complaints-return",
        params={"from": at(-24).isoformat(), "to": at(24 * 20).isoformat()},
    )
    reports.append(fca.json()["rows"])
    return reports


async def erased_event(client: httpx.AsyncClient, request_id: str) -> Any:
    for _ in range(200):
        events = await outbox_events(client, "customer.erased.analytics")
        mine = [e for e in events if e.data["request_id"] == request_id]
        if mine:
            return mine
        await asyncio.sleep(0.05)
    raise AssertionError("analytics never confirmed the erasure")


async def test_erasure_masks_the_customer_and_keeps_every_kpi(
    analytics: httpx.AsyncClient, env: TestEnv
) -> None:
    erased, kept = Story("email"), Story("sms")
    received = erased.received(0, customer_key=KEY, reference=REFERENCE)
    await publish(
        env,
        received,
        *(erased.prioritized(0.1, "P2"), erased.assigned(1, "o-1"), erased.proposed(2)),
        *(erased.answered("confirmed", 5), erased.closed(5)),
        *(kept.received(1), kept.assigned(2, "o-2"), kept.proposed(3)),
    )
    await eventually(analytics, kept.id, lambda r: r.first_proposed_at is not None)
    await eventually(analytics, erased.id, lambda r: r.closed_at is not None)
    before = await all_kpis(analytics)
    stored = await every_stored_text(analytics)
    assert KEY in stored and REFERENCE in stored  # the scan sees them while they are there

    request = CustomerErasureRequested(
        request_id=str(uuid.uuid4()), customer_id="cust-1", complaint_ids=[erased.id]
    )
    event = new_event("customer.erasure_requested", request, producer="intake", complaint_id=None)
    await publish(env, event)
    (confirmed,) = await erased_event(analytics, request.request_id)
    assert confirmed.complaint_id is None and confirmed.producer == "analytics"
    assert confirmed.causation_id == event.event_id
    assert confirmed.data["complaint_ids"] == [erased.id] and confirmed.data["erased_rows"] >= 2

    assert await all_kpis(analytics) == before
    stored = await every_stored_text(analytics)
    assert KEY not in stored and REFERENCE not in stored
    assert "k" * 64 in stored  # the other customer's pseudonym stays

    # A late copy of the complaint (a replay under a new id) is masked before it is archived,
    # and a rebuild from the archive brings nothing back.
    late = erased.received(0, customer_key=KEY, reference=REFERENCE)
    await publish(env, late, kept.answered("confirmed", 6), kept.closed(6))
    await eventually(analytics, kept.id, lambda r: r.closed_at is not None)
    admin = auth(app_of(analytics).state.settings, "admin", "admin-1")
    rebuilt = await analytics.post("/v1/admin/rebuild", headers=admin)
    assert rebuilt.status_code == 200, rebuilt.text
    stored = await every_stored_text(analytics)
    assert KEY not in stored and REFERENCE not in stored
    row = await eventually(analytics, erased.id, lambda r: r.closed_at is not None)
    assert row.customer_key is None and row.reference is None and row.channel == "email"

    # Retention erases the same way; what is already erased (or never known) confirms, with
    # nothing left to mask.
    again = CustomerErasureRequested(
        request_id=str(uuid.uuid4()),
        customer_id="cust-1",
        complaint_ids=[erased.id, str(uuid.uuid4())],
        reason="retention",
    )
    await publish(
        env, new_event("customer.erasure_requested", again, producer="intake", complaint_id=None)
    )
    (second,) = await erased_event(analytics, again.request_id)
    assert second.data["erased_rows"] == 0
