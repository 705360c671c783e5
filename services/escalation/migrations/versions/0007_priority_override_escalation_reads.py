"""priorities: a supervisor's override; escalations: indexes for the list

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 13:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("priorities") as batch:
        batch.add_column(sa.Column("overridden_by", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("override_reason", sa.Text(), nullable=True))
    op.create_index("ix_escalations_created", "escalations", ["created_at", "id"])
    op.create_index("ix_escalations_case", "escalations", ["case_id"])
    op.create_index("ix_escalations_recipient", "escalations", ["recipient", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_escalations_recipient", table_name="escalations")
    op.drop_index("ix_escalations_case", table_name="escalations")
    op.drop_index("ix_escalations_created", table_name="escalations")
    with op.batch_alter_table("priorities") as batch:
        batch.drop_column("override_reason")
        batch.drop_column("overridden_by")
