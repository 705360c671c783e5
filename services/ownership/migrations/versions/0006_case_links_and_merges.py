"""cases: merged_into; case_links: the cases a supervisor linked

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 19:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("merged_into", sa.String(length=36), nullable=True))
    op.create_table(
        "case_links",
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("linked_id", sa.String(length=36), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("linked_by", sa.String(length=64), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("case_id", "linked_id"),
    )
    op.create_index("ix_case_links_linked", "case_links", ["linked_id"])


def downgrade() -> None:
    op.drop_index("ix_case_links_linked", table_name="case_links")
    op.drop_table("case_links")
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("merged_into")
