"""The raw limit: the least a complaint POST can cost on this stack, to measure intake against.

A FastAPI app under uvicorn (uvloop, httptools, one process) that validates a complaint-sized
body, inserts one PostgreSQL row (asyncpg) and publishes one persistent message with publisher
confirms, then answers 201. No authentication, no outbox, no idempotency: what intake adds on
top of this is what `bench_speed.py` compares.

    python bench/rawlimit.py --port 8100 --dsn postgresql://... --amqp amqp://... --exchange x
"""

import argparse
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import aio_pika
import asyncpg
import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field

TABLE = """
CREATE TABLE IF NOT EXISTS raw_complaints (
    id uuid PRIMARY KEY, channel text NOT NULL, contact text NOT NULL, category text NOT NULL,
    customer_name text NOT NULL, customer_email text, description text NOT NULL,
    product text, region text, received_at timestamptz NOT NULL
)"""
INSERT = (
    "INSERT INTO raw_complaints (id, channel, contact, category, customer_name, customer_email,"
    " description, product, region, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
)


class Customer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    email: str | None = Field(None, max_length=320)


class Complaint(BaseModel):
    model_config = ConfigDict(extra="forbid")
    customer: Customer
    channel: str = Field(min_length=1, max_length=16)
    contact: str = Field(min_length=1, max_length=320)
    category: str = Field(min_length=1, max_length=100)
    description: str = Field(min_length=1, max_length=20_000)
    product: str | None = Field(None, max_length=200)
    region: str | None = Field(None, max_length=100)


def create_app(dsn: str, amqp_url: str, exchange_name: str) -> FastAPI:
    state: dict[str, object] = {}

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        pool = await asyncpg.create_pool(dsn, min_size=4, max_size=20)
        await pool.execute(TABLE)
        connection = await aio_pika.connect_robust(amqp_url)
        channel = await connection.channel(publisher_confirms=True)
        state["pool"] = pool
        state["exchange"] = await channel.declare_exchange(
            exchange_name, aio_pika.ExchangeType.TOPIC, durable=True
        )
        try:
            yield
        finally:
            await connection.close()
            await pool.close()

    app = FastAPI(lifespan=lifespan)

    @app.post("/v1/complaints", status_code=201)
    async def receive(body: Complaint) -> dict[str, str]:
        complaint_id, at = uuid.uuid4(), datetime.now(UTC)
        pool: asyncpg.Pool = state["pool"]  # type: ignore[assignment]
        await pool.execute(
            INSERT,
            complaint_id,
            body.channel,
            body.contact,
            body.category,
            body.customer.name,
            body.customer.email,
            body.description,
            body.product,
            body.region,
            at,
        )
        event = {"type": "complaint.received", "complaint_id": str(complaint_id)}
        event["data"] = body.model_dump_json()
        exchange: aio_pika.abc.AbstractExchange = state["exchange"]  # type: ignore[assignment]
        await exchange.publish(
            aio_pika.Message(
                json.dumps(event).encode(),
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                content_type="application/json",
                message_id=str(uuid.uuid4()),
            ),
            routing_key="complaint.received",
        )
        return {"id": str(complaint_id), "received_at": at.isoformat()}

    @app.get("/readyz")
    async def ready() -> dict[str, str]:
        return {"status": "ready" if "exchange" in state else "starting"}

    return app


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dsn", required=True, help="asyncpg DSN (postgresql://...)")
    parser.add_argument("--amqp", required=True)
    parser.add_argument("--exchange", required=True)
    args = parser.parse_args()
    uvicorn.run(
        create_app(args.dsn, args.amqp, args.exchange),
        host="127.0.0.1",
        port=args.port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
    )
