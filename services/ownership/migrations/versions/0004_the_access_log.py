"""the access log: who read a case through the API

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 16:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "access_log",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("record", sa.String(64), nullable=False),
        sa.Column("endpoint", sa.String(200), nullable=False),
    )
    op.create_index("ix_access_log_record", "access_log", ["record", "at"])
    op.create_index("ix_access_log_subject", "access_log", ["subject", "at"])


def downgrade() -> None:
    op.drop_table("access_log")
