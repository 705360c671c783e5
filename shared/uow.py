"""Unit of work: one transaction for a state change and the events it causes.

It rolls back unless told to commit. Events emitted inside it are written to the outbox in the
same transaction, and the relay is woken after the commit.
"""

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from sqlalchemy import MetaData, Table
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncTransaction

from shared.events import Envelope
from shared.statements import insert


class UnitOfWork:
    def __init__(self, engine: AsyncEngine, metadata: MetaData, on_commit: Callable[[], None]):
        self._engine = engine
        self._outbox = metadata.tables["outbox"]
        self._inbox = metadata.tables["inbox"]
        self._on_commit = on_commit
        self.events: list[Envelope] = []
        self._conn: AsyncConnection | None = None
        self._tx: AsyncTransaction | None = None

    @property
    def outbox_table(self) -> Table:
        return self._outbox

    @property
    def conn(self) -> AsyncConnection:
        assert self._conn is not None, "unit of work used outside its context"
        return self._conn

    async def __aenter__(self) -> "UnitOfWork":
        self._conn = await self._engine.connect()
        self._tx = await self._conn.begin()
        self.events = []
        return self

    async def __aexit__(
        self, exc_type: type | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._conn is not None and self._tx is not None
        if self._tx.is_active:
            await self._tx.rollback()
        await self._conn.close()

    def emit(self, *events: Envelope) -> None:
        self.events.extend(events)

    async def claim(self, event_id: str, consumer: str) -> bool:
        """Record that this consumer handled the event; False when it already had."""
        stmt = (
            insert(self.conn, self._inbox)
            .values(event_id=event_id, consumer=consumer, processed_at=datetime.now(UTC))
            .on_conflict_do_nothing()
        )
        result = await self.conn.execute(stmt)
        return bool(result.rowcount)

    async def claim_many(self, event_ids: Sequence[str], consumer: str) -> set[str]:
        """Record that this consumer handled the events; the ids it had not handled before.

        One INSERT ... ON CONFLICT DO NOTHING ... RETURNING (PostgreSQL, SQLite >= 3.35), in id
        order, so that consumers sharing a queue who both hold a redelivered event wait for each
        other instead of deadlocking.
        """
        unique = sorted(set(event_ids))
        if not unique:
            return set()
        if not self.conn.dialect.insert_returning:  # SQLite before 3.35
            return {event_id for event_id in unique if await self.claim(event_id, consumer)}
        now = datetime.now(UTC)
        stmt = (
            insert(self.conn, self._inbox)
            .on_conflict_do_nothing()
            .returning(self._inbox.c.event_id)
        )
        rows = [{"event_id": e, "consumer": consumer, "processed_at": now} for e in unique]
        result = await self.conn.execute(stmt, rows)
        return set(result.scalars())

    async def commit(self) -> None:
        assert self._tx is not None
        if self.events:
            await self.conn.execute(self._outbox.insert(), [_outbox_row(e) for e in self.events])
        await self._tx.commit()
        if self.events:
            self._on_commit()


def _outbox_row(event: Envelope) -> dict[str, Any]:
    return {
        "event_id": event.event_id,
        "routing_key": event.routing_key,
        "body": event.model_dump_json(),
        "created_at": datetime.now(UTC),
    }
