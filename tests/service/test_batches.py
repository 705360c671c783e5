"""Consuming in batches, on the real broker and both databases.

A tiny service counts, per complaint, the events its batch handler is given, and remembers every
call, so batching, deduplication, poison messages, failures and shutdowns can be observed without
any business rules in the way.
"""

import asyncio
import shutil
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aio_pika
import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, func, select
from sqlalchemy.dialects import postgresql, sqlite

from shared.bus import Bus
from shared.db import make_engine
from shared.events import Envelope
from shared.service import Runtime, ServiceSpec, create_service_app
from shared.settings import ServiceSettings
from shared.tables import add_messaging_tables
from shared.uow import UnitOfWork
from tests.service.test_messaging import eventually, prioritized, wait_dead_letter
from tests.support.env import Database, TestEnv
from tests.support.infra import close_database, open_database
from tests.support.services import common_settings, running

metadata = MetaData()
counters = Table(
    "counters",
    metadata,
    Column("complaint_id", String(36), primary_key=True),
    Column("count", Integer, nullable=False),
)
_, inbox = add_messaging_tables(metadata)
SERVICE = "escalation"  # cleaned up after; the owner of complaint.prioritized


@dataclass
class Recorder:
    """The batch handler: counts each event of a call; may fail, on poison or on request."""

    calls: list[list[Envelope]] = field(default_factory=list)
    failures_left: int = 0
    seconds_per_call: float = 0.0

    async def handle(self, uow: UnitOfWork, events: list[Envelope]) -> None:
        self.calls.append(events)
        await asyncio.sleep(self.seconds_per_call)
        for event in events:
            await _count(uow, event)
        # After writing, so a failure shows that the writes are rolled back.
        if any(e.data.get("reasons") == ["poison"] for e in events):
            raise RuntimeError("this event can never be handled")
        if self.failures_left:
            self.failures_left -= 1
            raise ConnectionRefusedError("the database went away for a moment")

    def seen(self) -> Counter[str]:
        return Counter(e.event_id for call in self.calls for e in call)


async def _count(uow: UnitOfWork, event: Envelope) -> None:
    dialect = postgresql if uow.conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(counters).values(complaint_id=event.complaint_id, count=1)
    stmt = stmt.on_conflict_do_update(
        index_elements=["complaint_id"], set_={"count": counters.c.count + 1}
    )
    await uow.conn.execute(stmt)


@pytest.fixture
async def url(env: TestEnv, database: Database) -> AsyncIterator[str]:
    async with database("batches") as db_url:
        engine = make_engine(db_url)
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        await engine.dispose()
        yield db_url


@asynccontextmanager
async def serving(
    env: TestEnv, db_url: str, recorder: Recorder, **extra: Any
) -> AsyncIterator[Runtime]:
    values = {"service_name": SERVICE, "run_migrations_on_start": False, **extra}
    settings = ServiceSettings(**common_settings(env, db_url, **values))
    spec = ServiceSpec(
        settings=settings,
        metadata=metadata,
        migrations_dir=Path("unused"),
        title="batch counting",
        batch_handler=lambda _: recorder.handle,
        bindings=["complaint.#"],
    )
    app = create_service_app(spec)
    async with running(app):
        yield app.state.runtime


async def queued(env: TestEnv, db_url: str, *events: Envelope, **extra: Any) -> None:
    """Publish to the service's queue while it is stopped, so its next start finds a backlog."""
    async with serving(env, db_url, Recorder(), **extra):
        pass  # declares and binds the queue
    bus = env.publisher()
    await bus.connect()
    try:
        await bus.publish(*events)
    finally:
        await bus.close()


async def handled(rt: Runtime) -> int:
    async with rt.engine.connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(inbox)) or 0)


async def counts(rt: Runtime) -> dict[str, int]:
    async with rt.engine.connect() as conn:
        # `r.count` would be the Row's sequence method to mypy; the mapping names the column.
        return {r.complaint_id: r._mapping["count"] for r in await conn.execute(select(counters))}


async def until_handled(rt: Runtime, expected: int, timeout: float = 20.0) -> None:
    async def done() -> bool:
        return await handled(rt) >= expected

    await eventually(done, timeout)


def events_of(n: int) -> list[Envelope]:
    return [prioritized(str(uuid.uuid4())) for _ in range(n)]


async def test_many_events_are_handled_in_few_batches_each_once(env: TestEnv, url: str) -> None:
    events = events_of(1000)
    await queued(env, url, *events)
    recorder = Recorder()
    async with serving(env, url, recorder, bus_batch_size=100) as rt:
        await until_handled(rt, len(events))
        assert await counts(rt) == {e.complaint_id: 1 for e in events}
    assert 10 <= len(recorder.calls) <= 20
    assert max(len(call) for call in recorder.calls) == 100
    assert recorder.seen() == Counter(e.event_id for e in events)


async def test_events_published_while_running_are_batched(env: TestEnv, url: str) -> None:
    events = events_of(500)
    recorder = Recorder()
    async with serving(env, url, recorder, bus_batch_wait_seconds=0.2) as rt:
        bus: Bus = rt.bus
        await bus.publish(*events)
        await until_handled(rt, len(events))
        assert set((await counts(rt)).values()) == {1}
    assert len(recorder.calls) < len(events) / 10


async def test_duplicates_in_a_batch_and_redelivered_events_are_handled_once(
    env: TestEnv, url: str
) -> None:
    twice, other, later = events_of(3)
    await queued(env, url, twice, other, twice)
    recorder = Recorder()
    async with serving(env, url, recorder) as rt:
        await until_handled(rt, 2)
        assert [len(call) for call in recorder.calls] == [2]
        await rt.bus.publish(twice, later)  # a redelivery, a while later
        await until_handled(rt, 3)
        await asyncio.sleep(0.2)
        assert await counts(rt) == {e.complaint_id: 1 for e in (twice, other, later)}
    assert recorder.seen() == Counter(e.event_id for e in (twice, other, later))


async def test_poison_message_in_a_batch_is_dead_lettered_alone(env: TestEnv, url: str) -> None:
    healthy = events_of(20)
    poison = prioritized(str(uuid.uuid4()), ["poison"])
    await queued(env, url, *healthy[:10], poison, *healthy[10:], bus_delivery_limit=2)
    recorder = Recorder()
    # All 21 are queued: a second to fill the batch however slowly a loaded broker delivers.
    filled = {"bus_delivery_limit": 2, "bus_batch_wait_seconds": 1.0}
    async with serving(env, url, recorder, **filled) as rt:
        await until_handled(rt, len(healthy))
        dead = await wait_dead_letter(env, f"{env.queue_prefix}{SERVICE}.dlq")
        assert Envelope.model_validate_json(dead.body).event_id == poison.event_id
        assert dead.headers["x-death-reason"] == "handler_failed"
        assert "never be handled" in str(dead.headers["x-last-error"])
        assert await counts(rt) == {e.complaint_id: 1 for e in healthy}
        assert await handled(rt) == len(healthy)
    assert len(recorder.calls[0]) == len(healthy) + 1  # the batch it spoiled
    # With the others, then alone once: a permanent failure is not retried.
    assert recorder.seen()[poison.event_id] == 1 + 1


async def test_malformed_message_in_a_batch_is_dead_lettered_alone(env: TestEnv, url: str) -> None:
    events = events_of(10)
    await queued(env, url, *events[:5])
    connection = await aio_pika.connect(env.amqp_url)
    channel = await connection.channel()
    exchange = await channel.get_exchange(env.exchange)
    await exchange.publish(aio_pika.Message(b"{not json"), routing_key="complaint.prioritized")
    await connection.close()
    await queued(env, url, *events[5:])
    recorder = Recorder()
    async with serving(env, url, recorder) as rt:
        await until_handled(rt, len(events))
        dead = await wait_dead_letter(env, f"{env.queue_prefix}{SERVICE}.dlq")
        assert dead.body == b"{not json"
        assert await counts(rt) == {e.complaint_id: 1 for e in events}
    assert [len(call) for call in recorder.calls] == [len(events)]


async def test_failure_mid_batch_loses_nothing(env: TestEnv, url: str) -> None:
    events = events_of(50)
    await queued(env, url, *events)
    # The batch fails, then the first event alone fails too, for a transient reason: it and the
    # rest of the batch (not tried: they would fail the same way) come back after a wait.
    recorder = Recorder(failures_left=2)
    async with serving(env, url, recorder) as rt:
        await until_handled(rt, len(events))
        await asyncio.sleep(0.2)
        assert await counts(rt) == {e.complaint_id: 1 for e in events}
        assert await handled(rt) == len(events)
    sizes = [len(call) for call in recorder.calls]
    assert sizes[:2] == [50, 1]
    assert recorder.calls[1][0].event_id == events[0].event_id
    retried = [e.event_id for call in recorder.calls[2:] for e in call]
    # Each once more. Every event here is a different complaint, and only one complaint's order is
    # promised: the retry queue may hand them back in more than one batch, in any interleaving.
    assert sorted(retried) == sorted(e.event_id for e in events)


async def test_shutdown_with_a_backlog_acks_only_what_was_committed(env: TestEnv, url: str) -> None:
    events = events_of(300)
    await queued(env, url, *events)
    slow = Recorder(seconds_per_call=0.2)
    async with serving(env, url, slow, bus_batch_size=20) as rt:
        async with asyncio.timeout(10):
            while len(slow.calls) < 3:
                await asyncio.sleep(0.02)
    # The batch in progress was finished; what was buffered went back to the queue.
    done = await handled(rt)
    assert 60 <= done < len(events)
    assert done == sum(len(call) for call in slow.calls)
    await eventually(lambda: _equals(ready_messages(env), len(events) - done), timeout=5)

    recorder = Recorder()
    async with serving(env, url, recorder, bus_batch_size=20) as rt:
        await until_handled(rt, len(events))
        assert await counts(rt) == {e.complaint_id: 1 for e in events}
    assert recorder.seen() == Counter(e.event_id for e in events[done:])


async def test_a_lost_connection_is_restored_and_loses_nothing(env: TestEnv, url: str) -> None:
    if shutil.which("rabbitmqctl") is None:
        pytest.skip("needs rabbitmqctl beside the broker, to have it close a connection")
    before, after = events_of(40), events_of(40)
    recorder = Recorder()
    async with serving(env, url, recorder) as rt:
        await rt.bus.publish(*before)
        await until_handled(rt, len(before))
        # The broker drops the service's connection, as on a network failure or a broker restart.
        await close_connection(f"{env.queue_prefix}{SERVICE}")
        publisher = env.publisher()
        await publisher.connect()
        try:
            await publisher.publish(*after)
        finally:
            await publisher.close()
        await until_handled(rt, len(before) + len(after), timeout=40)
        assert await counts(rt) == {e.complaint_id: 1 for e in before + after}


async def close_connection(name: str) -> None:
    """Have the broker close the connection that carries this name (`Bus(name=...)`)."""
    listed = await _rabbitmqctl(
        "--no-table-headers", "list_connections", "pid", "client_properties"
    )
    tagged = f'{{"connection_name","{name}"}}'
    pids = [line.split("\t")[0] for line in listed.splitlines() if tagged in line]
    assert pids, f"no connection named {name}"
    for pid in pids:
        await _rabbitmqctl("close_connection", pid, "closed by a test")


async def _rabbitmqctl(*args: str) -> str:
    process = await asyncio.create_subprocess_exec(
        "rabbitmqctl", "-q", *args, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await process.communicate()
    assert process.returncode == 0, f"rabbitmqctl {' '.join(args)} failed"
    return out.decode()


async def _equals(value: Any, expected: int) -> bool:
    return bool(await value == expected)


async def ready_messages(env: TestEnv) -> int:
    connection = await aio_pika.connect(env.amqp_url)
    try:
        channel = await connection.channel()
        queue = await channel.declare_queue(f"{env.queue_prefix}{SERVICE}", passive=True)
        return int(queue.declaration_result.message_count or 0)
    finally:
        await connection.close()


async def test_claim_many_returns_only_the_new_ids(env: TestEnv, url: str) -> None:
    engine = make_engine(url)
    try:
        async with UnitOfWork(engine, metadata, lambda: None) as uow:
            assert await uow.claim_many(["a", "b", "a"], "one") == {"a", "b"}
            await uow.commit()
        async with UnitOfWork(engine, metadata, lambda: None) as uow:
            assert await uow.claim_many(["b", "c", "c"], "one") == {"c"}
            assert await uow.claim_many(["a", "b"], "other") == {"a", "b"}
            assert await uow.claim_many([], "one") == set()
    finally:
        await engine.dispose()


def test_a_service_consumes_with_handlers_or_a_batch_handler_not_both() -> None:
    async def nothing(uow: UnitOfWork, events: list[Envelope]) -> None:
        return None

    common: dict[str, Any] = {
        "settings": ServiceSettings(),
        "metadata": metadata,
        "migrations_dir": Path("unused"),
        "title": "invalid",
    }
    with pytest.raises(ValueError, match="either"):
        ServiceSpec(
            **common, handlers=lambda _: {}, batch_handler=lambda _: nothing, bindings=["#"]
        )
    with pytest.raises(ValueError, match="bindings"):
        ServiceSpec(**common, batch_handler=lambda _: nothing)


async def test_a_database_outage_pauses_the_batches_and_loses_nothing(
    env: TestEnv, url: str
) -> None:
    if env.backend != "postgresql":
        pytest.skip("closing a database to connections is a PostgreSQL operation")
    events = events_of(200)
    recorder = Recorder()
    async with serving(env, url, recorder, bus_retry_schedule="0.2,0.4,0.8,1.6,3.2") as rt:
        name = url.rsplit("/", 1)[-1]
        await close_database(name)
        try:
            await rt.bus.publish(*events)
            async with asyncio.timeout(10):
                while rt.bus.paused_because is None:
                    await asyncio.sleep(0.05)
            await asyncio.sleep(4)  # longer than five deliveries of the old back-off
        finally:
            await open_database(name)
        await until_handled(rt, len(events))
        assert await counts(rt) == {e.complaint_id: 1 for e in events}
        assert rt.bus.paused_because is None
    async with await aio_pika.connect(env.amqp_url) as connection:
        channel = await connection.channel()
        dlq = await channel.declare_queue(f"{env.queue_prefix}{SERVICE}.dlq", passive=True)
        assert dlq.declaration_result.message_count == 0
