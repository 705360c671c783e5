"""stream tokens, so a process may keep complaints it wrote

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 12:24:07.738731
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("streams", schema=None) as batch_op:
        batch_op.add_column(sa.Column("token", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("previous", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("streams", schema=None) as batch_op:
        batch_op.drop_column("previous")
        batch_op.drop_column("token")
