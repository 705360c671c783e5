"""The read-only role BI tools connect as (the views themselves come from migration 0003)."""

from sqlalchemy import text

from services.analytics.settings import AnalyticsRuntime


async def enable_bi_login(rt: AnalyticsRuntime) -> None:
    """Let `bi_reader` log in with the configured password (PostgreSQL only)."""
    settings = rt.settings
    password = settings.bi_reader_password
    if not password or rt.engine.dialect.name != "postgresql":
        return
    # ALTER ROLE takes no bind parameters; the literal is quoted the standard SQL way.
    literal = "'" + password.replace("'", "''") + "'"
    async with rt.engine.begin() as conn:
        await conn.execute(text(f"ALTER ROLE bi_reader WITH LOGIN PASSWORD {literal}"))
