"""The composition every service shares: database, migrations, bus, outbox relay, consumers.

A service describes itself with a `ServiceSpec`; `create_service_app` wires the adapters in one
lifespan so tests and `python -m services.<name>` start exactly the same thing.
"""

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Generic

from fastapi import APIRouter, Depends, FastAPI, Request
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncEngine
from typing_extensions import TypeVar

from shared import asyncapi, query_params
from shared.bus import Bus
from shared.db import make_engine, upgrade_database_async
from shared.errors import install_error_handlers, is_transient
from shared.events import Envelope
from shared.limits import install_body_limit
from shared.logging import configure_logging, get_logger
from shared.loops import every
from shared.observability import DEAD_LETTERS, install_request_middleware
from shared.observability import router as operations_router
from shared.openapi import install_error_documentation
from shared.ordering import KeyedLocks
from shared.relay import OutboxRelay
from shared.settings import ServiceSettings
from shared.uow import UnitOfWork

log = get_logger(__name__)

EventHandler = Callable[[UnitOfWork, Envelope], Awaitable[None]]
# Handles a batch of events in one unit of work: each once, a redelivered one left out. The
# correlation id in effect is the batch's own; set an event's before emitting what it causes.
BatchEventHandler = Callable[[UnitOfWork, list[Envelope]], Awaitable[None]]
ANY_EVENT = "*"
# A service's own settings class; a bare Runtime or ServiceSpec holds the base ServiceSettings.
# Covariant: code written for any service (Runtime) takes a Runtime[IntakeSettings] too.
SettingsT = TypeVar("SettingsT", bound=ServiceSettings, default=ServiceSettings, covariant=True)
# A spec's handlers and workers take its own runtime, so a spec is invariant in its settings.
SpecSettingsT = TypeVar("SpecSettingsT", bound=ServiceSettings, default=ServiceSettings)


@dataclass
class Runtime(Generic[SettingsT]):
    """A running service's adapters; `Runtime[IntakeSettings]` in intake's code, so that its
    handlers read intake's own settings, checked by mypy."""

    settings: SettingsT
    engine: AsyncEngine
    metadata: MetaData
    bus: Bus
    relay: OutboxRelay
    # The last count of each dead-letter queue (see _count_dead_letters).
    dead_letters: dict[str, int] = field(default_factory=dict)

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.engine, self.metadata, self.relay.notify)


@dataclass
class ServiceSpec(Generic[SpecSettingsT]):
    settings: SpecSettingsT
    metadata: MetaData
    migrations_dir: Path
    title: str
    description: str = ""
    routers: list[APIRouter] = field(default_factory=list)
    handlers: Callable[[Runtime[SpecSettingsT]], dict[str, EventHandler]] | None = None
    # Instead of `handlers`: every event of `bindings`, many per transaction (see Bus).
    batch_handler: Callable[[Runtime[SpecSettingsT]], BatchEventHandler] | None = None
    bindings: list[str] | None = None
    workers: list[Callable[[Runtime[SpecSettingsT]], Coroutine[Any, Any, None]]] = field(
        default_factory=list
    )
    on_start: list[Callable[[Runtime[SpecSettingsT]], Awaitable[None]]] = field(
        default_factory=list
    )

    def __post_init__(self) -> None:
        if self.batch_handler is not None and self.handlers is not None:
            raise ValueError("a service consumes with either handlers or a batch handler")
        if self.batch_handler is not None and not self.bindings:
            raise ValueError("a batch handler needs the bindings of the events it takes")


def get_runtime(request: Request) -> Runtime[Any]:
    """The app's runtime; a route's annotation names its service's settings (see RuntimeDep)."""
    runtime: Runtime[Any] = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def create_service_app(spec: ServiceSpec[Any]) -> FastAPI:
    app = FastAPI(
        title=spec.title,
        description=spec.description,
        lifespan=_lifespan(spec),
        dependencies=[Depends(query_params.refuse_unknown)],
    )
    app.state.settings = spec.settings
    app.state.spec = spec
    install_error_handlers(app)
    install_body_limit(app, spec.settings)  # inside the request middleware: 413s are counted
    install_request_middleware(app)
    app.include_router(operations_router)
    for router in spec.routers:
        app.include_router(router)
    install_error_documentation(app)
    app.add_api_route("/asyncapi.json", asyncapi.served, methods=["GET"], include_in_schema=False)
    return app


def build_runtime(spec: ServiceSpec[SpecSettingsT]) -> Runtime[SpecSettingsT]:
    """The service's adapters, not yet connected: nothing is opened until first used."""
    settings = spec.settings
    engine = make_engine(settings.db_url)
    bus = Bus(
        settings.broker_url,
        settings.bus_exchange,
        prefetch=settings.bus_prefetch,
        delivery_limit=settings.bus_delivery_limit,
        name=settings.queue_name(),
        retry_schedule=settings.retry_schedule,
        retry_queue_expires=settings.bus_retry_queue_expires_seconds,
    )
    relay = OutboxRelay(
        engine,
        spec.metadata,
        bus,
        batch_size=settings.outbox_batch_size,
        poll_seconds=settings.outbox_poll_seconds,
    )
    return Runtime(settings, engine, spec.metadata, bus, relay)


def bindings_of(spec: ServiceSpec[Any], table: dict[str, EventHandler]) -> list[str]:
    """The routing keys the service's queue is bound to."""
    if spec.batch_handler is not None:
        return list(spec.bindings or [])
    return spec.bindings or [f"{t}.#" for t in table if t != ANY_EVENT]


Lifespan = Callable[[FastAPI], contextlib.AbstractAsyncContextManager[None]]


def _lifespan(spec: ServiceSpec[Any]) -> Lifespan:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings = spec.settings
        configure_logging(settings.service_name, settings.log_level)
        if settings.run_migrations_on_start:
            await upgrade_database_async(spec.migrations_dir, settings.db_url)
        runtime = build_runtime(spec)
        engine, bus, relay = runtime.engine, runtime.bus, runtime.relay
        await _connect(bus)
        app.state.runtime, app.state.engine, app.state.bus = runtime, engine, bus
        for hook in spec.on_start:
            await hook(runtime)
        tasks = [asyncio.create_task(relay.run(), name="outbox-relay")]
        tasks += [asyncio.create_task(worker(runtime)) for worker in spec.workers]
        outages = OutageWatch(runtime)
        bus.on_transient_failure = outages.failed
        await _consume(spec, runtime)
        tasks.append(asyncio.create_task(_count_dead_letters(runtime), name="dead-letters"))
        # What start-up allocated (modules, models, settings) lives as long as the process: keep it
        # out of the collector's full passes, which otherwise stall a request now and then.
        gc.collect()
        gc.freeze()
        log.info("service_started", port=settings.port, database=_safe_url(settings.db_url))
        try:
            yield
        finally:
            await outages.stop()
            await bus.drain()
            await _stop(tasks)
            await bus.close()
            await engine.dispose()

    return lifespan


async def _stop(tasks: list[asyncio.Task[None]], grace_seconds: float = 5.0) -> None:
    """Cancel the background loops; a shutdown must finish even if one ignores cancellation."""
    for task in tasks:
        task.cancel()
    _, stuck = await asyncio.wait(tasks, timeout=grace_seconds)
    for task in stuck:
        frames = [f"{f.f_code.co_filename}:{f.f_lineno}" for f in task.get_stack()]
        log.error("task_did_not_stop", task=task.get_name(), stack=frames)


async def _consume(spec: ServiceSpec[Any], runtime: Runtime) -> None:
    settings, bus = runtime.settings, runtime.bus
    if spec.batch_handler is not None and spec.bindings:
        await bus.consume_batches(
            settings.queue_name(),
            spec.bindings,
            _batch_dispatcher(runtime, spec.batch_handler(runtime)),
            max_batch=settings.bus_batch_size,
            max_wait_seconds=settings.bus_batch_wait_seconds,
            prefetch=settings.bus_batch_prefetch,
        )
    elif spec.handlers is not None:
        table = spec.handlers(runtime)
        await bus.consume(
            settings.queue_name(), bindings_of(spec, table), _dispatcher(runtime, table)
        )


def _dispatcher(
    runtime: Runtime, table: dict[str, EventHandler]
) -> Callable[[Envelope], Awaitable[None]]:
    consumer = runtime.settings.service_name
    # Handlers keep per-complaint state: a late event applied before an earlier one (a reopen
    # before the proposal it follows) would act on the wrong state.
    complaints = KeyedLocks()

    async def dispatch(envelope: Envelope) -> None:
        handler = table.get(envelope.type) or table.get(ANY_EVENT)
        if handler is None:
            return
        async with complaints.hold(envelope.complaint_id), runtime.uow() as uow:
            if not await uow.claim(envelope.event_id, consumer):
                log.info("event_duplicate_ignored", type=envelope.type, event_id=envelope.event_id)
                return
            await handler(uow, envelope)
            await uow.commit()

    return dispatch


def _batch_dispatcher(
    runtime: Runtime, handler: BatchEventHandler
) -> Callable[[list[Envelope]], Awaitable[None]]:
    consumer = runtime.settings.service_name

    async def dispatch(envelopes: list[Envelope]) -> None:
        async with runtime.uow() as uow:
            fresh = await uow.claim_many([e.event_id for e in envelopes], consumer)
            new = _first_of_each(envelopes, fresh)
            if len(new) < len(envelopes):
                log.info("events_duplicate_ignored", count=len(envelopes) - len(new))
            if new:
                await handler(uow, new)
            await uow.commit()

    return dispatch


def _first_of_each(envelopes: list[Envelope], event_ids: set[str]) -> list[Envelope]:
    """The envelopes of these ids, in order, each once."""
    wanted, chosen = set(event_ids), []
    for envelope in envelopes:
        if envelope.event_id in wanted:
            wanted.discard(envelope.event_id)
            chosen.append(envelope)
    return chosen


class OutageWatch:
    """Pauses the consumers when a handler fails for an infrastructure fault, until the database
    answers again: while it is down every delivery would fail, and spend its retries for
    nothing. What arrives meanwhile waits in the queue."""

    def __init__(self, runtime: Runtime):
        self._runtime = runtime
        self._task: asyncio.Task[None] | None = None

    def failed(self, exc: BaseException) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._wait_out(exc), name="outage-watch")

    async def _wait_out(self, exc: BaseException) -> None:
        bus, settings = self._runtime.bus, self._runtime.settings
        await bus.pause(f"a handler failed: {type(exc).__name__}: {str(exc)[:200]}")
        while True:
            await asyncio.sleep(settings.bus_outage_probe_seconds)
            try:
                async with self._runtime.engine.connect() as conn:
                    await conn.exec_driver_sql("SELECT 1")
            except Exception as probe_error:
                if not is_transient(probe_error):
                    log.exception("outage_probe_failed")
                bus.paused_because = f"database unreachable: {type(probe_error).__name__}"
                continue
            if bus.connected:
                break
            bus.paused_because = "broker not connected"
        await bus.resume()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task


async def _count_dead_letters(runtime: Runtime) -> None:
    """Keep the dead-letter gauge (and /readyz's detail) current."""

    async def count() -> None:
        counts = await runtime.bus.dead_letter_counts()
        for queue, waiting in counts.items():
            DEAD_LETTERS.labels(queue).set(waiting)
            if waiting:
                log.error("dead_letters_waiting", queue=queue, count=waiting)
        runtime.dead_letters = counts

    seconds = runtime.settings.bus_dead_letter_poll_seconds
    await every(seconds, count, "dead_letters_not_counted")


async def _connect(bus: Bus, attempts: int = 30) -> None:
    for attempt in range(1, attempts + 1):
        try:
            await bus.connect()
            return
        except Exception as exc:
            if attempt == attempts:
                raise
            log.warning("broker_unreachable", attempt=attempt, error=str(exc))
            await asyncio.sleep(1.0)


def _safe_url(url: str) -> str:
    return url.split("@")[-1] if "@" in url else url
