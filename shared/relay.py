"""Outbox relay: publishes committed events in batches with publisher confirms, then marks them.

Several replicas may run one each: on PostgreSQL a batch is claimed with FOR UPDATE SKIP LOCKED.
A crash between publish and mark re-publishes the batch; consumers are idempotent by event_id.
"""

import asyncio
from datetime import UTC, datetime

from sqlalchemy import MetaData, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.bus import Bus, OutgoingMessage
from shared.loops import every
from shared.observability import EVENTS_PUBLISHED


class OutboxRelay:
    def __init__(
        self,
        engine: AsyncEngine,
        metadata: MetaData,
        bus: Bus,
        *,
        batch_size: int = 500,
        poll_seconds: float = 0.2,
    ):
        self._engine = engine
        self._outbox = metadata.tables["outbox"]
        self._bus = bus
        self._batch_size = batch_size
        self._poll_seconds = poll_seconds
        self._wake = asyncio.Event()

    def notify(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        """Publish batch after batch, then wait for a commit or the poll, until cancelled."""
        await every(
            self._poll_seconds,
            self.publish_batch,
            "outbox_relay_failed",
            drain=True,
            wake=self._wake,
            pause_after_failure=1.0,
        )

    async def publish_batch(self) -> int:
        """Publish one batch; returns how many events went out."""
        outbox = self._outbox
        async with self._engine.begin() as conn:
            query = (
                select(outbox.c.id, outbox.c.routing_key, outbox.c.body, outbox.c.event_id)
                .where(outbox.c.published_at.is_(None))
                .order_by(outbox.c.id)
                .limit(self._batch_size)
            )
            if conn.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            rows = (await conn.execute(query)).all()
            if not rows:
                return 0
            await self._bus.publish_many(
                [OutgoingMessage(r.routing_key, r.body.encode(), r.event_id) for r in rows]
            )
            await conn.execute(
                update(outbox)
                .where(outbox.c.id.in_([r.id for r in rows]))
                .values(published_at=datetime.now(UTC))
            )
        for r in rows:
            EVENTS_PUBLISHED.labels(r.routing_key.split(".")[0]).inc()
        return len(rows)
