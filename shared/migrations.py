"""The body of every service's Alembic env.py: async engine, the URL handed in by the caller."""

import asyncio
import os

from alembic import context
from sqlalchemy import MetaData, text
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


# Any fixed 64-bit key: every replica of every service asks for the same one. Services with
# their own databases never contend; replicas sharing one database upgrade one after another.
MIGRATION_LOCK_KEY = 0x636F6D706C61696E  # "complain"


async def _run_online(metadata: MetaData, url: str) -> None:
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            sqlite = is_sqlite(url)
            if not sqlite:
                # Replicas may start together: the first to get the lock upgrades, the others
                # wait, then find the schema at head and have nothing to do. The session-level
                # lock is taken outside the migration's transaction and outlives its commit.
                await connection.execute(
                    text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
                )
                await connection.commit()
            try:
                await connection.run_sync(_do_run, metadata, sqlite)
                await connection.commit()
            finally:
                if not sqlite:
                    await connection.rollback()  # a failed migration leaves its tx aborted
                    await connection.execute(
                        text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY}
                    )
                    await connection.commit()
    finally:
        await engine.dispose()
