"""The body of every service's Alembic env.py: async engine, the URL handed in by the caller."""

import asyncio
import os

from alembic import context
from sqlalchemy import MetaData
from sqlalchemy.engine import Connection

from shared.db import is_sqlite, make_engine


def run_env(metadata: MetaData, default_url_env: str) -> None:
    config = context.config
    url = config.attributes.get("database_url") or os.environ[default_url_env]
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    asyncio.run(_run_online(metadata, url))


def _do_run(connection: Connection, metadata: MetaData, batch: bool) -> None:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=batch)
    with context.begin_transaction():
        context.run_migrations()


async def _run_online(metadata: MetaData, url: str) -> None:
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_do_run, metadata, is_sqlite(url))
            await connection.commit()
    finally:
        await engine.dispose()
