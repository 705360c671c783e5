"""The console's own tables: local accounts. Everything else lives in the five services."""

from sqlalchemy import Boolean, Column, MetaData, String, Table

from shared.timestamps import UtcDateTime

metadata = MetaData()

# Console roles; `auditor` calls the services as a supervisor (who audits), the rest as
# themselves. The subject is the owner id, the department, or the person's own id.
ROLES = ("owner", "department", "supervisor", "auditor", "analyst", "admin")
LANGUAGES = ("en", "zh")

accounts = Table(
    "accounts",
    metadata,
    Column("username", String(64), primary_key=True),
    Column("password_hash", String(200), nullable=False),
    Column("role", String(16), nullable=False),
    Column("subject", String(64), nullable=False),
    Column("display_name", String(200), nullable=False),
    Column("language", String(8), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)
