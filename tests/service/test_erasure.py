"""A customer's erasure: coordinated by intake, waiting for open complaints and legal holds,
confirmed by every service; retention; who read what (real broker and databases)."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from services.intake import retention
from services.intake.app import create_app
from services.intake.models import complaints, customer_identifiers, outbox
from services.intake.settings import IntakeSettings
from services.ownership.models import cases
from shared.events import CaseClosed, CustomerErased, CustomerErasureRequested, new_event
from tests.support.env import Database, TestEnv
from tests.support.intake import Intake, complaint_body
from tests.support.ownership import Desk, running_desk
from tests.support.services import app_of, auth, common_settings, running

NAME, EMAIL = "Zebedee Quillfeather", "zebedee.quill@example.org"


@pytest.fixture
async def intake(env: TestEnv, database: Database) -> AsyncIterator[Intake]:
    async with database("intake") as url:
        settings = IntakeSettings(
            **common_settings(env, url),
            escalation_url="http://127.0.0.1:9",
            erasure_poll_seconds=0.2,
        )
        async with running(create_app(settings)) as client:
            client.headers.update(auth(settings, "frontend", "desk-1"))
            yield client, settings


def dpo(settings: IntakeSettings, subject: str = "dpo-1") -> dict[str, str]:
    return auth(settings, "data_protection", subject)


async def complain(client: httpx.AsyncClient) -> dict[str, Any]:
    body = complaint_body(customer={"name": NAME, "email": EMAIL}, contact=EMAIL)
    body["product"] = f"Card {uuid.uuid4().hex[:8]}"
    response = await client.post("/v1/complaints", json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def close(env: TestEnv, complaint_id: str) -> None:
    data = CaseClosed(request_id="r1", reason="customer confirmed", outcome="resolved")
    async with env.publisher() as bus:
        await bus.publish(
            new_event("case.closed", data, producer="ownership", complaint_id=complaint_id)
        )


async def until(
    client: httpx.AsyncClient, path: str, headers: dict[str, str], **wanted: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for _ in range(300):
        body = (await client.get(path, headers=headers)).json()
        if all(body.get(k) == v for k, v in wanted.items()):
            return body
        await asyncio.sleep(0.05)
    raise AssertionError(f"{path} never reached {wanted}: {body}")


def engine_of(client: httpx.AsyncClient) -> Any:
    return app_of(client).state.engine


async def test_erasure_waits_for_the_open_complaint_then_masks_and_completes(
    intake: Intake, env: TestEnv
) -> None:
    client, settings = intake
    complaint = await complain(client)
    cid, customer = complaint["id"], complaint["customer_id"]
    path = f"/v1/customers/{customer}/erasure"
    first = await client.post(path, headers=dpo(settings))
    assert first.status_code == 202, first.text
    request = first.json()
    assert request["status"] == "waiting" and request["waiting_reason"] == "complaints_open"
    again = await client.post(path, headers=dpo(settings))
    assert again.json()["id"] == request["id"]
    assert (await client.post(path)).status_code == 403  # the front end may not erase

    await close(env, cid)
    status_path = f"/v1/erasure-requests/{request['id']}"
    sent = await until(client, status_path, dpo(settings), status="sent")
    assert sent["complaint_ids"] == [cid]
    assert [c["service"] for c in sent["confirmed"]] in ([], ["intake"])

    stored = (await client.get(f"/v1/complaints/{cid}")).json()
    assert stored["customer"]["name"] == "[erased]" and stored["description"] == "[erased]"
    assert stored["contact"] == "[erased]" and stored["category"] == "billing"
    async with engine_of(client).connect() as conn:
        held = await conn.scalars(
            select(customer_identifiers.c.value).where(
                customer_identifiers.c.customer_id == customer
            )
        )
        assert list(held) == []
        bodies = list(await conn.scalars(select(outbox.c.body)))
        row = (await conn.execute(select(complaints).where(complaints.c.id == cid))).one()
    assert row.status == "closed" and row.customer_email == "[erased]"
    assert not [b for b in bodies if EMAIL in b or NAME in b]

    erasure = CustomerErasureRequested(
        request_id=request["id"], customer_id=customer, complaint_ids=[cid]
    )
    async with env.publisher() as bus:
        for service in ("escalation", "ownership", "confirmation", "analytics"):
            data = CustomerErased(**erasure.model_dump(exclude={"reason"}), erased_rows=3)
            await bus.publish(
                new_event(f"customer.erased.{service}", data, producer=service, complaint_id=None)
            )
    done = await until(client, status_path, dpo(settings), status="completed")
    assert done["awaiting"] == [] and len(done["confirmed"]) == 5
    # Asking again once erased: the same request.
    assert (await client.post(path, headers=dpo(settings))).json()["id"] == request["id"]


async def test_a_legal_hold_keeps_the_erasure_waiting_until_lifted(
    intake: Intake, env: TestEnv
) -> None:
    client, settings = intake
    complaint = await complain(client)
    customer = complaint["customer_id"]
    await close(env, complaint["id"])
    await until(client, f"/v1/complaints/{complaint['id']}", {}, status="closed")
    hold = f"/v1/customers/{customer}/legal-hold"
    put = await client.put(hold, json={"reason": "litigation 42"}, headers=dpo(settings))
    assert put.status_code == 200, put.text
    request = (await client.post(f"/v1/customers/{customer}/erasure", headers=dpo(settings))).json()
    assert request["status"] == "waiting" and request["waiting_reason"] == "legal_hold"
    await asyncio.sleep(0.5)  # the background pass leaves it waiting
    path = f"/v1/erasure-requests/{request['id']}"
    assert (await client.get(path, headers=dpo(settings))).json()["status"] == "waiting"
    assert (await client.delete(hold, headers=dpo(settings))).status_code == 204
    sent = (await client.get(path, headers=dpo(settings))).json()
    assert sent["status"] == "sent" and sent["waiting_reason"] is None


async def test_retention_files_an_erasure_after_the_period(intake: Intake, env: TestEnv) -> None:
    client, _ = intake
    complaint = await complain(client)
    await close(env, complaint["id"])
    await until(client, f"/v1/complaints/{complaint['id']}", {}, status="closed")
    runtime = app_of(client).state.runtime
    await retention.run_once(runtime, datetime.now(UTC))  # not yet: six years to go
    async with engine_of(client).connect() as conn:
        from services.intake.models import erasure_requests

        query = select(erasure_requests).where(
            erasure_requests.c.customer_id == complaint["customer_id"]
        )
        assert (await conn.execute(query)).first() is None
    await retention.run_once(runtime, datetime.now(UTC) + timedelta(days=2193))
    async with engine_of(client).connect() as conn:
        filed = (await conn.execute(query)).one()
    assert filed.reason == "retention" and filed.status == "sent"


async def test_reads_of_personal_data_are_logged_and_queryable(
    intake: Intake, env: TestEnv
) -> None:
    client, settings = intake
    complaint = await complain(client)
    await client.get(f"/v1/complaints/{complaint['id']}")
    await client.get(
        f"/v1/customers/{complaint['customer_id']}", headers=auth(settings, "supervisor", "sam")
    )
    log = await client.get(
        "/v1/access-log", params={"record": complaint["id"]}, headers=dpo(settings)
    )
    assert log.status_code == 200, log.text
    [entry] = log.json()["entries"]
    assert entry["subject"] == "desk-1" and entry["role"] == "frontend"
    assert entry["endpoint"] == "GET /v1/complaints/{id}"
    by_sam = await client.get("/v1/access-log", params={"subject": "sam"}, headers=dpo(settings))
    assert [e["record"] for e in by_sam.json()["entries"]] == [complaint["customer_id"]]
    assert (await client.get("/v1/access-log")).status_code == 403


async def test_export_with_a_service_away_is_a_503_not_a_partial_copy(
    intake: Intake, env: TestEnv
) -> None:
    client, settings = intake
    complaint = await complain(client)
    answer = await client.get(
        f"/v1/customers/{complaint['customer_id']}/export", headers=dpo(settings)
    )
    assert answer.status_code == 503, answer.text
    error = answer.json()["error"]
    assert error["code"] == "service_unavailable" and error["service"] == "escalation"


@pytest.fixture
async def desk(env: TestEnv, database: Database) -> AsyncIterator[Desk]:
    async with running_desk(env, database) as running_service:
        yield running_service


async def test_ownership_masks_the_case_and_confirms(desk: Desk, env: TestEnv) -> None:
    case_id = await desk.receive()
    case = await desk.wait_case(case_id)
    owner = desk.as_("owner", case["owner_id"])
    proposed = await desk.client.post(
        f"/v1/cases/{case_id}/resolution",
        json={"outcome": "resolved", "summary": f"Refunded {NAME}."},
        headers=owner,
    )
    assert proposed.status_code == 200, proposed.text
    request_id = str(uuid.uuid4())
    erasure = CustomerErasureRequested(
        request_id=request_id, customer_id="c1", complaint_ids=[case_id]
    )
    async with env.probe("customer.erased.#") as probe:
        await desk.publish(
            new_event("customer.erasure_requested", erasure, producer="intake", complaint_id=None)
        )
        confirmed = await probe.wait_for(
            "customer.erased.ownership", where=lambda e: e.data["request_id"] == request_id
        )
    assert confirmed.data["erased_rows"] > 0 and confirmed.complaint_id is None
    async with desk.app.state.engine.connect() as conn:
        row = (await conn.execute(select(cases).where(cases.c.id == case_id))).one()
    assert row.resolution_summary == "[erased]" and row.status == "resolution_proposed"
    held = await desk.client.get(
        "/v1/personal-data",
        params={"complaint_id": case_id},
        headers=desk.as_("data_protection", "dpo"),
    )
    assert held.status_code == 200, held.text
    assert NAME not in held.text and held.json()["tables"]["cases"][0]["id"] == case_id
    log = await desk.client.get(
        "/v1/access-log",
        params={"record": case_id, "subject": "tester"},
        headers=desk.as_("data_protection", "dpo"),
    )
    assert log.status_code == 200, log.text
    entry = log.json()["entries"][0]
    assert entry["role"] == "supervisor" and entry["endpoint"] == "GET /v1/cases/{id}"
