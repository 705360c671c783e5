"""contacts: the id an emailed or texted follow-up came in under (for erasure), and the
complaint a follow-up was split off into

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("contacts") as batch:
        batch.add_column(sa.Column("submission_id", sa.String(length=36), nullable=True))
        batch.add_column(sa.Column("split_into", sa.String(length=36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("contacts") as batch:
        batch.drop_column("split_into")
        batch.drop_column("submission_id")
