"""Outages are waited out, failures are sorted into retries and dead letters, and one
complaint's events are handled in order: a tiny service on the real broker and databases."""

import asyncio
import itertools
import random
import time
import uuid
from collections.abc import AsyncIterator, Awaitable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import aio_pika
import httpx
import pytest
from fastapi import APIRouter
from sqlalchemy import Column, Integer, MetaData, String, Table, func, select

from shared.db import make_engine
from shared.deadletters import DeadLetterQueue, run
from shared.events import ComplaintPrioritized, Envelope, new_event
from shared.service import Runtime, RuntimeDep, ServiceSpec, create_service_app
from shared.settings import ServiceSettings
from shared.tables import add_messaging_tables
from shared.uow import UnitOfWork
from tests.support.env import Database, TestEnv
from tests.support.infra import close_database, open_database, service_url
from tests.support.services import common_settings, running

metadata = MetaData()
counters = Table(
    "counters",
    metadata,
    Column("complaint_id", String(36), primary_key=True),
    Column("count", Integer, nullable=False),
)
add_messaging_tables(metadata)


@dataclass
class Behaviour:
    """What the handler does with each event: fail for a while, fail for good, take its time."""

    transient: dict[str, int] = field(default_factory=dict)
    permanent: set[str] = field(default_factory=set)
    slow: bool = False
    calls: list[tuple[str, str, float]] = field(default_factory=list)
    running: int = 0
    most_at_once: int = 0

    async def handle(self, uow: UnitOfWork, event: Envelope) -> None:
        self.calls.append((event.event_id, event.data["reasons"][0], time.monotonic()))
        if self.transient.get(event.event_id, 0) > 0:
            self.transient[event.event_id] -= 1
            raise ConnectionRefusedError("connection refused by the database host")
        if event.event_id in self.permanent:
            raise ValueError("this event breaks a rule")
        self.running += 1
        self.most_at_once = max(self.most_at_once, self.running)
        try:
            if self.slow:
                await asyncio.sleep(random.uniform(0.0, 0.03))
            await _count(uow, event.complaint_id or "")
        finally:
            self.running -= 1


async def _count(uow: UnitOfWork, key: str) -> None:
    current = await uow.conn.scalar(select(counters.c.count).where(counters.c.complaint_id == key))
    if current is None:
        await uow.conn.execute(counters.insert().values(complaint_id=key, count=1))
    else:
        await uow.conn.execute(
            counters.update().where(counters.c.complaint_id == key).values(count=current + 1)
        )


router = APIRouter()


@router.post("/things/{key}", status_code=201)
async def make_thing(key: str, rt: RuntimeDep) -> dict[str, Any]:
    """Creates once per key (the key plays the Idempotency-Key), with an event in the outbox."""
    async with rt.uow() as uow:
        existing = await uow.conn.scalar(
            select(counters.c.count).where(counters.c.complaint_id == key)
        )
        if existing is None:
            await uow.conn.execute(counters.insert().values(complaint_id=key, count=1))
            uow.emit(prioritized(key, "made"))
        await uow.commit()
    return {"key": key, "created": existing is None}


def prioritized(complaint_id: str, label: str) -> Envelope:
    data = ComplaintPrioritized(priority="P3", reasons=[label])
    return new_event("complaint.prioritized", data, producer="test", complaint_id=complaint_id)


@dataclass
class Served:
    runtime: Runtime
    client: httpx.AsyncClient
    behaviour: Behaviour
    url: str


class Serve(Protocol):
    """`async with serve(behaviour, **settings) as served`: the service running that behaviour."""

    def __call__(
        self, behaviour: Behaviour, **overrides: Any
    ) -> AbstractAsyncContextManager[Served]: ...


@pytest.fixture
def serve(env: TestEnv, database: Database) -> Serve:
    @asynccontextmanager
    async def start(behaviour: Behaviour, **overrides: Any) -> AsyncIterator[Served]:
        async with database("resilience") as url:
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
                    **overrides,
                )
            )
            spec = ServiceSpec(
                settings=settings,
                metadata=metadata,
                migrations_dir=Path("unused"),
                title="resilience",
                routers=[router],
                handlers=lambda _: {"complaint.prioritized": behaviour.handle},
            )
            app = create_service_app(spec)
            async with running(app) as client:
                yield Served(app.state.runtime, client, behaviour, url)

    return start


async def count_of(rt: Runtime, key: str | None) -> int | None:
    async with rt.engine.connect() as conn:
        return await conn.scalar(select(counters.c.count).where(counters.c.complaint_id == key))


class Check(Protocol):
    """What `eventually` waits on. A protocol, not a Callable: mypy then accepts a lambda that
    binds a loop variable as a default (`lambda c=complaint: ...`)."""

    def __call__(self) -> Awaitable[bool]: ...


async def eventually(check: Check, timeout: float = 15.0) -> None:
    async with asyncio.timeout(timeout):
        while not await check():
            await asyncio.sleep(0.05)


async def dead_letters(env: TestEnv) -> list[aio_pika.abc.AbstractIncomingMessage]:
    """Everything in the dead-letter queue now (left there)."""
    connection = await aio_pika.connect(env.amqp_url)
    try:
        channel = await connection.channel()
        queue = await channel.get_queue(f"{env.queue_prefix}escalation.dlq")
        taken = []
        while (message := await queue.get(fail=False)) is not None:
            taken.append(message)
        return taken
    finally:
        await connection.close()


async def test_transient_failures_are_retried_with_growing_waits_then_handled(
    serve: Serve, env: TestEnv
) -> None:
    event = prioritized(str(uuid.uuid4()), "flaky")
    behaviour = Behaviour(transient={event.event_id: 3})
    async with serve(behaviour, bus_retry_schedule="0.3,0.6,1.2,2.4") as served:
        await served.runtime.bus.publish(event)
        await eventually(lambda: _is(count_of(served.runtime, event.complaint_id), 1))
        times = [t for event_id, _, t in behaviour.calls if event_id == event.event_id]
        assert len(times) == 4
        waits = [b - a for a, b in itertools.pairwise(times)]
        assert waits[0] >= 0.3 and waits[1] >= 0.6 and waits[2] >= 1.2
        assert waits[0] < waits[1] < waits[2]
        assert await dead_letters(env) == []


async def test_a_failure_that_outlives_the_schedule_is_dead_lettered(
    serve: Serve, env: TestEnv
) -> None:
    event = prioritized(str(uuid.uuid4()), "down for good")
    behaviour = Behaviour(transient={event.event_id: 100})
    async with serve(behaviour, bus_retry_schedule="0.1,0.2") as served:
        await served.runtime.bus.publish(event)
        await eventually(lambda: _has_dead_letters(env, 1))
    [dead] = await dead_letters(env)
    assert dead.message_id == event.event_id
    assert dead.headers["x-death-reason"] == "retries_exhausted"
    assert dead.headers["x-retry-count"] == 2
    assert "ConnectionRefusedError" in str(dead.headers["x-last-error"])
    assert dead.headers["x-first-failure"]
    assert len([c for c in behaviour.calls if c[0] == event.event_id]) == 3


async def test_a_permanent_failure_is_dead_lettered_at_once_with_its_reason(
    serve: Serve, env: TestEnv
) -> None:
    bad, good = prioritized(str(uuid.uuid4()), "bad"), prioritized(str(uuid.uuid4()), "good")
    behaviour = Behaviour(permanent={bad.event_id})
    async with serve(behaviour) as served:
        await served.runtime.bus.publish(bad, good)
        await eventually(lambda: _is(count_of(served.runtime, good.complaint_id), 1))
        await eventually(lambda: _has_dead_letters(env, 1))
    [dead] = await dead_letters(env)
    assert Envelope.model_validate_json(dead.body).event_id == bad.event_id
    assert dead.headers["x-death-reason"] == "handler_failed"
    assert "this event breaks a rule" in str(dead.headers["x-last-error"])
    assert [c[0] for c in behaviour.calls].count(bad.event_id) == 1


async def test_events_of_one_complaint_are_handled_in_delivery_order(
    serve: Serve, env: TestEnv
) -> None:
    complaints = [str(uuid.uuid4()) for _ in range(4)]
    events = [prioritized(c, f"{c}:{n}") for n in range(15) for c in complaints]
    behaviour = Behaviour(slow=True)
    async with serve(behaviour) as served:
        await served.runtime.bus.publish(*events)
        for complaint in complaints:
            await eventually(lambda c=complaint: _is(count_of(served.runtime, c), 15))
    for complaint in complaints:
        seen = [label for _, label, _ in behaviour.calls if label.startswith(complaint)]
        assert seen == [f"{complaint}:{n}" for n in range(15)]
    if env.backend == "postgresql":  # SQLite has one writer at a time anyway
        assert behaviour.most_at_once > 1  # different complaints still run side by side


async def test_dead_letters_are_listed_shown_replayed_and_dropped(
    serve: Serve, env: TestEnv, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = prioritized(str(uuid.uuid4()), "one"), prioritized(str(uuid.uuid4()), "two")
    behaviour = Behaviour(permanent={first.event_id, second.event_id})
    async with serve(behaviour, bus_dead_letter_poll_seconds=0.2) as served:
        settings = served.runtime.settings
        await served.runtime.bus.publish(first, second)
        await eventually(lambda: _has_dead_letters(env, 2))
        # The alarm: a gauge per queue and a detail of /readyz, which stays ready.
        dlq = f"{env.queue_prefix}escalation.dlq"
        await eventually(lambda: _readyz_shows(served.client, dlq, 2))
        metrics = (await served.client.get("/metrics")).text
        assert f'dead_letters{{queue="{dlq}"}} 2.0' in metrics

        printed = _Printed(capsys)
        printed()
        assert await run(["list", "escalation"], settings) == 0
        assert printed().split() == [dlq, "2"]
        assert await run(["show", "escalation"], settings) == 0
        shown = printed()
        assert "reason: handler_failed" in shown and "this event breaks a rule" in shown
        assert first.event_id in shown and second.event_id in shown
        assert await DeadLetterQueue(settings).count() == 2  # show leaves them there

        # The cause fixed, a replay hands them back; a second copy of the first
        # (a double replay) is taken as the duplicate it is.
        behaviour.permanent.clear()
        await _copy_to_dead_letters(env, first)
        assert await run(["replay", "escalation"], settings) == 0
        assert "replayed 3 message(s)" in printed()
        await eventually(lambda: _is(count_of(served.runtime, second.complaint_id), 1))
        await asyncio.sleep(0.5)
        assert await count_of(served.runtime, first.complaint_id) == 1
        # Both come back once each; the two are of different complaints, which run side by
        # side, so only the order within one complaint is promised (tested above).
        replayed = [label for _, label, _ in behaviour.calls[2:]]
        assert sorted(replayed) == ["one", "two"]
        assert await DeadLetterQueue(settings).count() == 0
        await eventually(lambda: _readyz_shows(served.client, dlq, 0))

        # Dropping needs a confirmation.
        await _copy_to_dead_letters(env, second)
        assert await run(["drop", "escalation"], settings) == 2
        assert await DeadLetterQueue(settings).count() == 1
        assert await run(["drop", "escalation", "--yes"], settings) == 0
        assert second.event_id in printed()
        assert await DeadLetterQueue(settings).count() == 0


async def test_an_outage_longer_than_the_old_delivery_limit_loses_nothing(
    serve: Serve, env: TestEnv
) -> None:
    if env.backend != "postgresql":
        pytest.skip("closing a database to connections is a PostgreSQL operation")
    behaviour = Behaviour()
    async with serve(behaviour, bus_retry_schedule="0.2,0.4,0.8,1.6,3.2,6.4") as served:
        name = served.url.rsplit("/", 1)[-1]
        before = prioritized(str(uuid.uuid4()), "before")
        await served.runtime.bus.publish(before)
        await eventually(lambda: _is(count_of(served.runtime, before.complaint_id), 1))

        await close_database(name)
        try:
            during = [prioritized(str(uuid.uuid4()), f"during {n}") for n in range(20)]
            await served.runtime.bus.publish(*during)
            # Consumers pause: not ready, and why.
            async with asyncio.timeout(10):
                while True:
                    ready = await served.client.get("/readyz")
                    if "consumers" in ready.json()["checks"]:
                        break
                    await asyncio.sleep(0.1)
            assert ready.status_code == 503
            assert ready.json()["checks"]["consumers"].startswith("paused")
            # A request meanwhile: 503, told when to come back, nothing written.
            refused = await served.client.post("/things/k-1")
            assert refused.status_code == 503
            assert refused.headers["Retry-After"]
            assert refused.json()["error"]["code"] == "service_unavailable"
            await asyncio.sleep(4)  # longer than five deliveries of the old back-off
        finally:
            await open_database(name)

        for event in during:
            await eventually(lambda e=event: _is(count_of(served.runtime, e.complaint_id), 1))
        assert await dead_letters(env) == []
        await eventually(lambda: _status(served.client, "/readyz", 200))
        # The retried request is done once; a retry of it gets the same single result.
        made = await served.client.post("/things/k-1")
        again = await served.client.post("/things/k-1")
        assert made.status_code == again.status_code == 201
        async with served.runtime.engine.connect() as conn:
            rows = await conn.scalar(
                select(func.count()).select_from(counters).where(counters.c.complaint_id == "k-1")
            )
        assert rows == 1
        outbox = metadata.tables["outbox"]
        async with served.runtime.engine.connect() as conn:
            emitted = await conn.scalar(select(func.count()).select_from(outbox))
        assert emitted == 1


@pytest.mark.parametrize(
    "given", ["x" * 10_000, "abc\r\nX-Injected: yes", "tab\there", "é-not-ascii", "a b"]
)
async def test_an_unsafe_correlation_id_is_replaced(serve: Serve, env: TestEnv, given: str) -> None:
    if env.backend != "sqlite":
        pytest.skip("header handling does not depend on the database")
    async with serve(Behaviour()) as served:
        response = await served.client.get(
            "/healthz", headers=[(b"X-Correlation-ID", given.encode())]
        )
        returned = response.headers["X-Correlation-ID"]
        assert returned != given
        uuid.UUID(returned)
        ok = await served.client.get("/healthz", headers={"X-Correlation-ID": "req-42:a.b_c"})
        assert ok.headers["X-Correlation-ID"] == "req-42:a.b_c"


class _Printed:
    """What the command printed since the last call, without the service's log lines."""

    def __init__(self, capsys: pytest.CaptureFixture[str]):
        self._capsys = capsys

    def __call__(self) -> str:
        out = self._capsys.readouterr().out
        return "\n".join(line for line in out.splitlines() if not line.startswith('{"'))


async def _copy_to_dead_letters(env: TestEnv, event: Envelope) -> None:
    """A dead letter as the service itself writes one: under its own login, the publisher kept."""
    connection = await aio_pika.connect(service_url("escalation"))
    try:
        channel = await connection.channel()
        message = aio_pika.Message(
            event.model_dump_json().encode(),
            message_id=event.event_id,
            user_id="escalation",
            headers={
                "x-death-reason": "handler_failed",
                "x-original-user-id": "escalation",
                "x-original-routing-key": event.routing_key,
            },
        )
        await channel.default_exchange.publish(message, f"{env.queue_prefix}escalation.dlq")
    finally:
        await connection.close()


async def _has_dead_letters(env: TestEnv, count: int) -> bool:
    connection = await aio_pika.connect(env.amqp_url)
    try:
        channel = await connection.channel()
        queue = await channel.declare_queue(f"{env.queue_prefix}escalation.dlq", passive=True)
        return queue.declaration_result.message_count == count
    finally:
        await connection.close()


async def _readyz_shows(client: httpx.AsyncClient, queue: str, count: int) -> bool:
    response = await client.get("/readyz")
    return response.status_code == 200 and response.json()["dead_letters"].get(queue) == count


async def _status(client: httpx.AsyncClient, path: str, status: int) -> bool:
    return (await client.get(path)).status_code == status


async def _is(value: Awaitable[object], expected: object) -> bool:
    return bool(await value == expected)
