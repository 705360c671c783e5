"""the KPI rollup (per dimension, key, day and month) and an index of open complaints

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 05:36:19
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNTS = (
    "received",
    "closed_confirmed",
    "rejected_resolutions",
    "reopened",
    "proposed",
    "resolved_proposals",
    "resolved_rejected",
    "audited",
    "audit_failed",
    "attested",
    "cannot_fulfil",
    "first_contact",
    "tasks_met",
    "tasks_missed",
    "with_due",
    "resolved_on_time",
    "confirmed_on_time",
    "open",
    "confirmed",
)
OPEN = sa.text("closed_at IS NULL")


def upgrade() -> None:
    op.create_table(
        "kpi_rollup",
        sa.Column("dimension", sa.String(length=16), nullable=False),
        sa.Column("grain", sa.String(length=1), nullable=False),
        sa.Column("period", sa.Date(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in COUNTS),
        sa.Column("to_yes", sa.LargeBinary(), nullable=False),
        sa.Column("gap", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("dimension", "grain", "period", "key"),
    )
    if op.get_bind().dialect.name == "postgresql":
        # A small table whose rows every batch rewrites: vacuum it long before the default 20%.
        op.execute(
            "ALTER TABLE kpi_rollup SET (autovacuum_vacuum_scale_factor = 0.02,"
            " autovacuum_analyze_scale_factor = 0.05)"
        )
    with op.batch_alter_table("complaint_facts") as batch_op:
        batch_op.create_index(
            "ix_complaint_facts_open", ["received_at"], postgresql_where=OPEN, sqlite_where=OPEN
        )


def downgrade() -> None:
    with op.batch_alter_table("complaint_facts") as batch_op:
        batch_op.drop_index("ix_complaint_facts_open")
    op.drop_table("kpi_rollup")
