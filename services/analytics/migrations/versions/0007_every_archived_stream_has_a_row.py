"""every archived stream has a streams row

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 15:05:00

Ingest takes a stream without a row for one that never had an event, and skips reading its
history. Events archived before the streams table existed (revision 0002) had no row: add them.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "INSERT INTO streams (stream, updated_at)"
        " SELECT DISTINCT stream, CURRENT_TIMESTAMP FROM fact_events WHERE stream IS NOT NULL"
        " ON CONFLICT (stream) DO NOTHING"
    )


def downgrade() -> None:
    """Nothing to undo: revision 0006 reads the same rows, and which ones this upgrade added
    cannot be told from those ingest wrote (both have no token)."""
