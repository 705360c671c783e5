"""Against the running system: a `confirmation.confirmed` forged on the bus closes nothing.

Forged with the guest administrator's login and with every other service's own login (under the
routing keys each may write, and straight into ownership's queue); the case stays proposed and
ownership dead-letters every forgery.
"""

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import aio_pika
import aiormq
import pytest

from shared.events import ConfirmationAnswered, new_event
from shared.publishers import SERVICES, owned_by
from tests.e2e.conftest import System
from tests.e2e.probes import case_of, until
from tests.support.infra import AMQP_URL, service_url

pytestmark = pytest.mark.e2e


async def _forge(url: str, exchange: str, key: str, complaint_id: str, user_id: str | None) -> bool:
    """Publish a forged yes; False when the broker refused it outright."""
    data = ConfirmationAnswered(
        request_id=str(uuid.uuid4()),
        channel="email",
        received_at=datetime.now(UTC),
        evidence="yes, resolved",
    )
    forged = new_event(
        "confirmation.confirmed", data, producer="confirmation", complaint_id=complaint_id
    )
    connection = await aio_pika.connect(url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        target = await channel.get_exchange(exchange) if exchange else channel.default_exchange
        body = forged.model_dump_json().encode()
        await target.publish(aio_pika.Message(body, user_id=user_id), routing_key=key, timeout=10)
        await asyncio.sleep(0.1)
        return not channel.is_closed
    except (aiormq.exceptions.ChannelAccessRefused, aio_pika.exceptions.ChannelClosed):
        return False
    finally:
        await connection.close()


async def _dead_lettered(queue_name: str) -> int:
    connection = await aio_pika.connect(AMQP_URL)
    try:
        channel = await connection.channel()
        queue = await channel.declare_queue(queue_name, passive=True)
        return int(queue.declaration_result.message_count or 0)
    finally:
        await connection.close()


async def test_forged_confirmations_leave_the_case_proposed(system: System) -> None:
    customer = f"forge-{uuid.uuid4().hex[:8]}@example.com"
    frontend = system.client("intake", "frontend", "desk-1")
    supervisor = system.client("ownership", "supervisor", "sam")
    try:
        created = await frontend.post(
            "/v1/complaints",
            json={
                "customer": {"name": "Ana Lima", "email": customer},
                "channel": "email",
                "contact": customer,
                "category": "billing",
                "description": "I was charged twice for one purchase and need the money back.",
            },
        )
        assert created.status_code == 201, created.text
        complaint_id = created.json()["id"]

        async def assigned() -> Any:
            found = await case_of(supervisor, complaint_id)
            return found if found.get("owner_id") else None

        owner_id = (await until(assigned, "case assigned"))["owner_id"]
        async with system.client("ownership", "owner", owner_id) as owner:
            proposed = await owner.post(
                f"/v1/cases/{complaint_id}/resolution",
                json={"outcome": "resolved", "summary": "We refunded the duplicate charge."},
            )
            assert proposed.status_code == 200, proposed.text
        await system.mail.wait_for_question(customer)  # asked: the request is recorded

        queue = f"{system.queue_prefix}ownership"
        accepted = 0
        forgeries: list[tuple[str, str, str, str | None]] = [
            (AMQP_URL, system.exchange, "confirmation.confirmed", None),
            (AMQP_URL, system.exchange, "confirmation.confirmed", "guest"),
            (AMQP_URL, "", queue, None),
        ]
        for service in SERVICES:
            if service == "confirmation":
                continue
            url = service_url(service)
            forgeries.append((url, system.exchange, "confirmation.confirmed", service))
            keys = [k for k in owned_by(service) if k.startswith("complaint.")]
            forgeries += [(url, system.exchange, k, service) for k in keys]
            forgeries.append((url, "", queue, service))
        for url, exchange, key, user_id in forgeries:
            accepted += await _forge(url, exchange, key, complaint_id, user_id)
        # What the broker let through reached ownership and was refused there.
        await until(
            lambda: _at_least(_dead_lettered(f"{queue}.dlq"), accepted), "forgeries refused"
        )
        await asyncio.sleep(1.0)
        assert (await case_of(supervisor, complaint_id))["status"] == "resolution_proposed"
    finally:
        await frontend.aclose()
        await supervisor.aclose()


async def _at_least(count: Any, expected: int) -> bool | None:
    return True if await count >= expected else None
