"""value keys and the raw values of recent complaints

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 12:10:00.000000
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
        "value_keys",
        sa.Column("dimension", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.Column("catalogued", sa.Boolean(), nullable=False),
        sa.Column("seen", sa.Integer(), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("dimension", "key"),
    )
    with op.batch_alter_table("recent_complaints", schema=None) as batch_op:
        batch_op.add_column(sa.Column("product_raw", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("category_raw", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("region_raw", sa.String(length=255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("recent_complaints", schema=None) as batch_op:
        batch_op.drop_column("region_raw")
        batch_op.drop_column("category_raw")
        batch_op.drop_column("product_raw")
    op.drop_table("value_keys")
