"""acknowledgements: the complaint's language, messages without a request, one per complaint

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 13:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ONE_ACKNOWLEDGEMENT = sa.text("kind = 'acknowledgement'")


def upgrade() -> None:
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.add_column(sa.Column("language", sa.String(length=16), nullable=True))
    with op.batch_alter_table("outbound_messages", schema=None) as batch_op:
        batch_op.alter_column("request_id", existing_type=sa.String(length=36), nullable=True)
    op.create_index(
        "uq_outbound_acknowledgement",
        "outbound_messages",
        ["complaint_id"],
        unique=True,
        sqlite_where=ONE_ACKNOWLEDGEMENT,
        postgresql_where=ONE_ACKNOWLEDGEMENT,
    )


def downgrade() -> None:
    op.drop_index("uq_outbound_acknowledgement", table_name="outbound_messages")
    op.execute("DELETE FROM outbound_messages WHERE request_id IS NULL")
    with op.batch_alter_table("outbound_messages", schema=None) as batch_op:
        batch_op.alter_column("request_id", existing_type=sa.String(length=36), nullable=False)
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.drop_column("language")
