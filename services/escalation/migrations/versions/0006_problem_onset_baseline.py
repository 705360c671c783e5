"""problems: when the problem began and the baseline rate before it

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 13:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("problems") as batch:
        batch.add_column(sa.Column("onset_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("baseline_rate", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("problems") as batch:
        batch.drop_column("baseline_rate")
        batch.drop_column("onset_at")
