"""room for in-place updates; no unused fact_events index

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 14:50:00

Every ingest rewrites the rows of the complaints, streams and rollup rows it touches. With room
left on each page (fillfactor), PostgreSQL rewrites a row beside the old one without touching
the indexes (a HOT update) whenever no indexed column changes, which is nearly always.
Nothing reads fact_events by complaint (histories are read by stream), so that index only cost
every archived event an index entry.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FILLFACTOR = {"complaint_facts": 70, "streams": 70, "kpi_rollup": 70}


def upgrade() -> None:
    op.drop_index("ix_fact_events_complaint", table_name="fact_events")
    if op.get_bind().dialect.name == "postgresql":
        for table, percent in FILLFACTOR.items():
            op.execute(f"ALTER TABLE {table} SET (fillfactor = {percent})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in FILLFACTOR:
            op.execute(f"ALTER TABLE {table} RESET (fillfactor)")
    op.create_index(
        "ix_fact_events_complaint", "fact_events", ["complaint_id", "occurred_at"], unique=False
    )
