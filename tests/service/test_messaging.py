"""The shared messaging guarantees, on the real broker and both databases.

A tiny service counts the events it handles, so redelivery, poison messages and the outbox can
be observed without any business rules in the way.
"""

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aio_pika
import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, select

from shared.db import make_engine
from shared.events import ComplaintPrioritized, Envelope, new_event
from shared.service import Runtime, ServiceSpec, create_service_app
from shared.settings import ServiceSettings
from shared.tables import add_messaging_tables
from shared.uow import UnitOfWork
from tests.support.env import Database, TestEnv
from tests.support.services import common_settings, running

metadata = MetaData()
counters = Table(
    "counters",
    metadata,
    Column("complaint_id", String(36), primary_key=True),
    Column("count", Integer, nullable=False),
)
add_messaging_tables(metadata)


async def count_it(uow: UnitOfWork, event: Envelope) -> None:
    if event.data.get("reasons") == ["poison"]:
        raise RuntimeError("this event can never be handled")
    current = await uow.conn.scalar(
        select(counters.c.count).where(counters.c.complaint_id == event.complaint_id)
    )
    if current is None:
        await uow.conn.execute(counters.insert().values(complaint_id=event.complaint_id, count=1))
    else:
        await uow.conn.execute(
            counters.update()
            .where(counters.c.complaint_id == event.complaint_id)
            .values(count=current + 1)
        )


def prioritized(complaint_id: str, reasons: list[str] | None = None) -> Envelope:
    data = ComplaintPrioritized(priority="P3", reasons=reasons or ["test"])
    return new_event("complaint.prioritized", data, producer="test", complaint_id=complaint_id)


@pytest.fixture
async def counting(env: TestEnv, database: Database) -> AsyncIterator[Runtime]:
    async with database("counting") as url:
        engine = make_engine(url)
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        await engine.dispose()
        settings = ServiceSettings(
            **common_settings(
                env,
                url,
                service_name="escalation",
                run_migrations_on_start=False,
                bus_delivery_limit=2,
            )
        )
        spec = ServiceSpec(
            settings=settings,
            metadata=metadata,
            migrations_dir=Path("unused"),
            title="counting",
            handlers=lambda _: {"complaint.prioritized": count_it},
        )
        app = create_service_app(spec)
        async with running(app):
            yield app.state.runtime


async def count_of(rt: Runtime, complaint_id: str) -> int | None:
    async with rt.engine.connect() as conn:
        return await conn.scalar(
            select(counters.c.count).where(counters.c.complaint_id == complaint_id)
        )


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not await check():
            await asyncio.sleep(0.05)


async def test_same_event_delivered_twice_changes_state_once(
    counting: Runtime, env: TestEnv
) -> None:
    complaint_id, other = str(uuid.uuid4()), str(uuid.uuid4())
    event = prioritized(complaint_id)
    await counting.bus.publish(event, event, prioritized(other))
    await eventually(lambda: _equals(count_of(counting, other), 1))
    await asyncio.sleep(0.3)
    assert await count_of(counting, complaint_id) == 1


async def test_poison_message_is_dead_lettered_and_the_queue_moves_on(
    counting: Runtime, env: TestEnv
) -> None:
    poison, healthy = str(uuid.uuid4()), str(uuid.uuid4())
    await counting.bus.publish(prioritized(poison, ["poison"]), prioritized(healthy))
    await eventually(lambda: _equals(count_of(counting, healthy), 1))
    dead = await wait_dead_letter(env, f"{env.queue_prefix}escalation.dlq")
    assert Envelope.model_validate_json(dead.body).complaint_id == poison
    assert dead.headers["x-death-reason"] == "handler_failed"
    assert await count_of(counting, poison) is None


async def test_malformed_message_goes_straight_to_dead_letters(
    counting: Runtime, env: TestEnv
) -> None:
    connection = await aio_pika.connect(env.amqp_url)
    channel = await connection.channel()
    exchange = await channel.get_exchange(env.exchange)
    await exchange.publish(aio_pika.Message(b"{not json"), routing_key="complaint.prioritized")
    await connection.close()
    dead = await wait_dead_letter(env, f"{env.queue_prefix}escalation.dlq")
    assert dead.body == b"{not json"
    assert dead.headers["x-death-reason"] == "malformed"


async def test_outbox_publishes_only_what_was_committed(counting: Runtime, env: TestEnv) -> None:
    kept, dropped = str(uuid.uuid4()), str(uuid.uuid4())
    async with env.probe("complaint.prioritized") as probe:
        async with counting.uow() as uow:
            uow.emit(prioritized(dropped))
        async with counting.uow() as uow:
            uow.emit(prioritized(kept))
            await uow.commit()
        await probe.wait_for("complaint.prioritized", kept)
        await asyncio.sleep(0.3)
        assert probe.of_type("complaint.prioritized", dropped) == []
    outbox = metadata.tables["outbox"]
    async with counting.engine.connect() as conn:
        pending = await conn.scalar(select(outbox.c.id).where(outbox.c.published_at.is_(None)))
    assert pending is None


async def test_relay_publishes_a_large_batch_in_order(counting: Runtime, env: TestEnv) -> None:
    ids = [str(uuid.uuid4()) for _ in range(1200)]
    async with env.probe("complaint.prioritized") as probe:
        async with counting.uow() as uow:
            uow.emit(*(prioritized(i) for i in ids))
            await uow.commit()
        await probe.wait_for("complaint.prioritized", count=len(ids), timeout=30)
        assert [e.complaint_id for e in probe.events] == ids


async def test_broker_confirms_every_message_it_accepts(env: TestEnv) -> None:
    bus = env.publisher()
    await bus.connect()
    try:
        async with env.probe() as probe:
            await bus.publish(prioritized(str(uuid.uuid4())))
            event = await probe.wait_for("complaint.prioritized")
        assert event.routing_key == "complaint.prioritized"
    finally:
        await bus.close()


async def _equals(value: Awaitable[object], expected: object) -> bool:
    return bool(await value == expected)


async def wait_dead_letter(env: TestEnv, queue_name: str) -> aio_pika.abc.AbstractIncomingMessage:
    connection = await aio_pika.connect(env.amqp_url)
    try:
        channel = await connection.channel()
        queue = await channel.declare_queue(
            queue_name, durable=True, arguments={"x-queue-type": "quorum"}
        )
        async with asyncio.timeout(20):
            while True:
                message = await queue.get(fail=False, no_ack=True)
                if message is not None:
                    return message
                await asyncio.sleep(0.1)
    finally:
        await connection.close()
