"""Intake against the real broker and a real database (SQLite and PostgreSQL)."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.intake.app import create_app
from services.intake.settings import IntakeSettings
from tests.support.env import Database, TestEnv
from tests.support.intake import Intake, complaint_body, stored_count
from tests.support.services import auth, common_settings, running


@pytest.fixture
async def intake(env: TestEnv, database: Database) -> AsyncIterator[Intake]:
    async with database("intake") as url:
        settings = IntakeSettings(**common_settings(env, url))
        async with running(create_app(settings)) as client:
            client.headers.update(auth(settings, "frontend", "desk-1"))
            yield client, settings


async def test_complaint_is_stored_and_announced(intake: Intake, env: TestEnv) -> None:
    client, _ = intake
    async with env.probe("complaint.#") as probe:
        response = await client.post("/v1/complaints", json=complaint_body())
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["status"] == "received" and body["reference"].startswith("CMP-")
        assert body["contact"] == "Ana@example.com"
        event = await probe.wait_for("complaint.received", body["id"])
    assert event.data["contact"] == "Ana@example.com"
    assert event.data["channel"] == "email"
    assert event.producer == "intake"
    assert event.correlation_id == response.headers["X-Correlation-ID"]
    assert len(event.data["customer_key"]) == 64


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"channel": "pigeon"}, "channel"),
        ({"contact": ""}, "contact"),
        ({"contact": "not-an-address"}, "contact"),
        ({"channel": "sms", "contact": "call me maybe"}, "contact"),
        ({"channel": "phone", "contact": "+1 555"}, "contact"),
        ({"description": ""}, "description"),
        ({"customer": {"email": "x@example.com"}}, "name"),
    ],
)
async def test_invalid_complaint_is_refused_and_nothing_stored(
    intake: Intake, overrides: dict[str, Any], field: str
) -> None:
    client, _ = intake
    body = complaint_body(**overrides)
    response = await client.post("/v1/complaints", json=body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert any(field in f["loc"] for f in error["fields"]), error
    assert await stored_count(client) == 0


async def test_missing_contact_is_refused(intake: Intake) -> None:
    client, _ = intake
    body = complaint_body()
    del body["contact"]
    response = await client.post("/v1/complaints", json=body)
    assert response.status_code == 422
    assert response.json()["error"]["fields"][0]["loc"] == ["body", "contact"]


async def test_sms_contact_is_kept_in_e164(intake: Intake) -> None:
    client, _ = intake
    response = await client.post(
        "/v1/complaints", json=complaint_body(channel="sms", contact="(415) 555-2671")
    )
    assert response.status_code == 201, response.text
    assert response.json()["contact"] == "+14155552671"


async def test_idempotency_key_returns_the_first_complaint(intake: Intake, env: TestEnv) -> None:
    client, _ = intake
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = await client.post("/v1/complaints", json=complaint_body(), headers=key)
    again = await client.post("/v1/complaints", json=complaint_body(), headers=key)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    other = await client.post(
        "/v1/complaints", json=complaint_body(category="delivery"), headers=key
    )
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    assert await stored_count(client) == 1


async def test_concurrent_retries_with_one_key_store_and_announce_one(
    intake: Intake, env: TestEnv
) -> None:
    """A front end that retries before its first answer came: the loser answers as the winner."""
    client, _ = intake
    key = {"Idempotency-Key": f"retry-{uuid.uuid4()}"}
    body = complaint_body(description="Charged twice; my retry storm should not make two cases.")
    async with env.probe("complaint.received") as probe:
        answers = await asyncio.gather(
            *(client.post("/v1/complaints", json=body, headers=key) for _ in range(6))
        )
        assert {a.status_code for a in answers} == {201}, [a.text for a in answers]
        ids = {a.json()["id"] for a in answers}
        assert len(ids) == 1
        await probe.wait_for("complaint.received", ids.pop())
        await asyncio.sleep(0.5)
        assert len(probe.of_type("complaint.received")) == 1
    assert sum(a.headers.get("Idempotent-Replayed") == "true" for a in answers) == 5
    assert await stored_count(client) == 1


async def test_follow_up_contact_joins_the_complaint(intake: Intake, env: TestEnv) -> None:
    client, _ = intake
    complaint = (await client.post("/v1/complaints", json=complaint_body())).json()
    async with env.probe("complaint.contact_added") as probe:
        response = await client.post(
            f"/v1/complaints/{complaint['id']}/contacts",
            json={"channel": "phone", "contact": "+1 415 555 2671", "text": "Any news?"},
        )
        assert response.status_code == 201, response.text
        event = await probe.wait_for("complaint.contact_added", complaint["id"])
    assert event.data["text"] == "Any news?"
    read = (await client.get(f"/v1/complaints/{complaint['id']}")).json()
    assert [c["text"] for c in read["contacts"]] == ["Any news?"]
    assert await stored_count(client) == 1


async def test_unknown_complaint_is_404(intake: Intake) -> None:
    client, _ = intake
    response = await client.get(f"/v1/complaints/{uuid.uuid4()}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "complaint_not_found"


async def test_roles_are_enforced(intake: Intake) -> None:
    client, settings = intake
    anonymous = await client.post(
        "/v1/complaints", json=complaint_body(), headers={"Authorization": ""}
    )
    assert anonymous.status_code == 401
    analyst = await client.post(
        "/v1/complaints", json=complaint_body(), headers=auth(settings, "analyst")
    )
    assert analyst.status_code == 403
    assert analyst.json()["error"]["code"] == "forbidden"
    forged = await client.post(
        "/v1/complaints", json=complaint_body(), headers={"Authorization": "Bearer abc.def.ghi"}
    )
    assert forged.status_code == 401


async def test_health_and_readiness(intake: Intake) -> None:
    client, _ = intake
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {"database": "ok", "broker": "ok"}
    metrics = await client.get("/metrics")
    assert "http_requests_total" in metrics.text


async def test_timestamps_keep_the_instant_and_are_answered_in_utc(intake: Intake) -> None:
    client, _ = intake
    body = complaint_body(occurred_at="2025-04-10T10:55:28+10:00")
    created = await client.post("/v1/complaints", json=body)
    assert created.status_code == 201, created.text
    read = (await client.get(f"/v1/complaints/{created.json()['id']}")).json()
    occurred = datetime.fromisoformat(read["occurred_at"])
    assert occurred == datetime(2025, 4, 10, 0, 55, 28, tzinfo=UTC)
    assert occurred.utcoffset() == timedelta(0)
    assert datetime.fromisoformat(read["received_at"]).utcoffset() == timedelta(0)
