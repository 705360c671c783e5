"""the customer's satisfaction answer on complaint_facts, and its counts in the KPI rollup

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 18:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNTS = ("satisfaction_answers", "satisfaction_points", "satisfied")


def upgrade() -> None:
    with op.batch_alter_table("complaint_facts") as batch:
        batch.add_column(sa.Column("satisfaction_score", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("satisfaction_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("kpi_rollup") as batch:
        for name in COUNTS:
            batch.add_column(sa.Column(name, sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("kpi_rollup") as batch:
        for name in COUNTS:
            batch.drop_column(name)
    with op.batch_alter_table("complaint_facts") as batch:
        batch.drop_column("satisfaction_at")
        batch.drop_column("satisfaction_score")
