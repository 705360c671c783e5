"""A customer's erasure across the five real processes: it waits for the open complaint and the
legal hold, then no table of any service's database and no queue holds the name, the email or
the phone any more, while the anonymous facts (rows, statuses, counts) stay."""

import uuid
from typing import Any

import aio_pika
import httpx
import pytest
from sqlalchemy import func, inspect, select, table, text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.e2e.conftest import SERVICES, System
from tests.e2e.probes import case_of, send, until, when
from tests.support.infra import AMQP_URL
from tests.support.mail import reply

pytestmark = pytest.mark.e2e

# Rows that stay, one for one, when the customer is erased.
KEPT = {
    "intake": ["complaints", "customers"],
    "escalation": ["priorities"],
    "ownership": ["cases", "tasks"],
    "confirmation": ["complaints", "confirmation_requests", "inbound_messages"],
}


async def counts(system: System) -> dict[str, int]:
    found = {}
    for service, tables in KEPT.items():
        engine = create_async_engine(system.databases[service])
        try:
            async with engine.connect() as conn:
                for name in tables:
                    query = select(func.count()).select_from(table(name))
                    found[f"{service}.{name}"] = int(await conn.scalar(query) or 0)
        finally:
            await engine.dispose()
    return found


def as_text(value: Any) -> str:
    """A column's value as text, lower case (binary sketches decoded leniently)."""
    if isinstance(value, bytes | memoryview):
        return bytes(value).decode(errors="replace").lower()
    return "" if value is None else str(value).lower()


async def mentions_in_databases(system: System, needles: list[str]) -> list[str]:
    """Every `service.table.column` whose value, as text, contains one of the needles."""
    hits = []
    for service in SERVICES:
        engine = create_async_engine(system.databases[service])
        try:
            async with engine.connect() as conn:
                tables = await conn.run_sync(
                    lambda sync: {
                        t: [c["name"] for c in inspect(sync).get_columns(t)]
                        for t in inspect(sync).get_table_names()
                    }
                )
                for name, columns in tables.items():
                    for column in columns:
                        values = await conn.scalars(text(f'SELECT "{column}" FROM "{name}"'))
                        for value in map(as_text, values):
                            if any(n in value for n in needles):
                                hits.append(f"{service}.{name}.{column}: {value[:120]}")
        finally:
            await engine.dispose()
    return hits


async def mentions_in_queues(system: System, needles: list[str]) -> list[str]:
    """Messages waiting in the services' queues and dead-letter queues that mention a needle;
    looked at, not taken (unacknowledged, they return when the channel closes)."""
    hits = []
    connection = await aio_pika.connect(AMQP_URL)
    try:
        for service in SERVICES:
            for name in (f"{system.queue_prefix}{service}", f"{system.queue_prefix}{service}.dlq"):
                channel = await connection.channel()
                try:
                    queue = await channel.declare_queue(name, passive=True)
                except aio_pika.exceptions.ChannelClosed:
                    continue
                while (message := await queue.get(no_ack=False, fail=False)) is not None:
                    body = message.body.decode(errors="replace").lower()
                    if any(n in body for n in needles):
                        hits.append(f"{name}: {body[:120]}")
                await channel.close()
    finally:
        await connection.close()
    return hits


async def test_an_erased_customer_is_nowhere_but_their_counts_remain(system: System) -> None:
    tag = uuid.uuid4().hex[:8]
    name, email, phone = f"Quentin Zyxwabble {tag}", f"quentin.{tag}@example.org", "4155552671"
    frontend = system.client("intake", "frontend", "desk-1")
    dpo = system.client("intake", "data_protection", "dpo-1")
    supervisor = system.client("ownership", "supervisor", "sam")
    try:
        await _erase_end_to_end(system, frontend, dpo, supervisor, name, email, phone)
    except BaseException:
        print(system.logs())
        raise
    finally:
        for c in (frontend, dpo, supervisor):
            await c.aclose()


async def _erase_end_to_end(
    system: System,
    frontend: httpx.AsyncClient,
    dpo: httpx.AsyncClient,
    supervisor: httpx.AsyncClient,
    name: str,
    email: str,
    phone: str,
) -> None:
    created = await frontend.post(
        "/v1/complaints",
        json={
            "customer": {"name": name, "email": email, "phone": "+1 415-555-2671"},
            "channel": "email",
            "contact": email,
            "category": "billing",
            "product": "Credit card",
            "region": "CA",
            "description": f"I am {name}, call me on 415-555-2671. <b>Charged twice</b>.",
        },
    )
    assert created.status_code == 201, created.text
    complaint_id, customer_id = created.json()["id"], created.json()["customer_id"]

    assigned = await until(
        lambda: when(case_of(supervisor, complaint_id), lambda c: c.get("owner_id")),
        "case assigned",
    )

    # Asked while the complaint is open: it waits, and asking twice is the same request.
    erasure_path = f"/v1/customers/{customer_id}/erasure"
    waiting = (await dpo.post(erasure_path)).json()
    assert waiting["status"] == "waiting" and waiting["waiting_reason"] == "complaints_open"
    assert (await dpo.post(erasure_path)).json()["id"] == waiting["id"]
    hold = await dpo.put(f"/v1/customers/{customer_id}/legal-hold", json={"reason": "dispute"})
    assert hold.status_code == 200, hold.text

    owner = system.client("ownership", "owner", assigned["owner_id"])
    try:
        proposed = await owner.post(
            f"/v1/cases/{complaint_id}/resolution",
            json={"outcome": "resolved", "summary": f"Refunded {name}'s second charge."},
        )
        assert proposed.status_code == 200, proposed.text
    finally:
        await owner.aclose()
    question = await system.mail.wait_for_question(email)
    await send(system, reply(question, email, "Yes, resolved. Thank you!"), email)
    await until(
        lambda: when(case_of(supervisor, complaint_id), lambda c: c["status"] == "closed"), "closed"
    )

    status_path = f"/v1/erasure-requests/{waiting['id']}"
    held = await until(
        lambda: when(dpo.get(status_path), lambda r: r["waiting_reason"] == "legal_hold"),
        "held back by the legal hold once the complaint closed",
    )
    assert held["status"] == "waiting"

    # Subject access, while the data is still held: one document, every service.
    export = await dpo.get(f"/v1/customers/{customer_id}/export")
    assert export.status_code == 200, export.text
    doc = export.json()
    assert doc["customer"]["name"] == name
    [complaint] = doc["complaints"]
    assert complaint["intake"]["customer_email"] == email
    assert {"escalation", "ownership", "confirmation"} <= set(complaint["services"])
    sent = complaint["services"]["confirmation"]["outbound_messages"]
    assert email in {m["recipient"] for m in sent}
    page = await dpo.get(f"/v1/customers/{customer_id}/export", headers={"Accept": "text/html"})
    assert page.headers["content-type"].startswith("text/html") and name in page.text
    assert "&lt;b&gt;Charged twice&lt;/b&gt;" in page.text and "<b>Charged" not in page.text
    log = (await dpo.get("/v1/access-log", params={"record": customer_id})).json()["entries"]
    assert {"subject": "dpo-1", "endpoint": "GET /v1/customers/{id}/export"}.items() <= log[
        0
    ].items()

    before = await counts(system)
    lifted = await dpo.delete(f"/v1/customers/{customer_id}/legal-hold")
    assert lifted.status_code == 204, lifted.text
    wanted = {"intake", "escalation", "ownership", "confirmation", "analytics"}
    done = await until(
        lambda: when(dpo.get(status_path), lambda r: r["status"] == "completed"),
        "every service confirmed",
        timeout=30,
    )
    assert {c["service"] for c in done["confirmed"]} == wanted and done["awaiting"] == []
    assert done["complaint_ids"] == [complaint_id]

    needles = [name.lower(), email.lower(), phone]
    assert await mentions_in_databases(system, needles) == []
    assert await mentions_in_queues(system, needles) == []
    assert await counts(system) == before
    closed = await case_of(supervisor, complaint_id)
    assert closed["status"] == "closed" and closed["outcome"] == "resolved"
    # The regulator's clocks hold nothing personal and still answer how the case went.
    assert closed["policy_profile"] and closed["clocks"]
    again = (await dpo.get(f"/v1/customers/{customer_id}/export")).json()
    assert name not in str(again) and again["customer"]["name"] == "[erased]"
