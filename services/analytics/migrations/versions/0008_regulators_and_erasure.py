"""regulators' facts (policy, clocks, final response), erased complaints, BI views of them

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 16:00:00

Complaints already projected get the new columns empty; `python -m services.analytics.projection.rebuild`
fills them from the archive (events of these types were not archived before this revision).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TZ = sa.DateTime(timezone=True)
COLUMNS = [
    sa.Column("profile", sa.String(32)),
    sa.Column("final_response_at", TZ),
    sa.Column("final_response_outcome", sa.String(32)),
    sa.Column("first_response_at", TZ),
    sa.Column("reg_closed_at", TZ),
    sa.Column("reg_closed_month", sa.String(7)),
    sa.Column("business_days_to_close", sa.Integer),
    sa.Column("fca_band", sa.String(16)),
    sa.Column("upheld", sa.Boolean),
    sa.Column("regulatory_breaches", sa.Integer, nullable=False, server_default="0"),
]

VIEWS = {
    "regulatory_clocks": "SELECT * FROM regulatory_clock_facts",
    # The FCA return by product group and calendar month (UTC): opened by month of receipt,
    # closed and its bands and upheld by month of the regulator's closure.
    "fca_return": """
        SELECT product_group, month,
               SUM(opened) AS opened, SUM(closed) AS closed,
               SUM(within_3_business_days) AS closed_within_3_business_days,
               SUM(within_8_weeks) AS closed_within_8_weeks,
               SUM(over_8_weeks) AS closed_after_8_weeks,
               SUM(upheld) AS upheld
        FROM (
            SELECT COALESCE(product, 'unspecified') AS product_group, received_month AS month,
                   1 AS opened, 0 AS closed, 0 AS within_3_business_days,
                   0 AS within_8_weeks, 0 AS over_8_weeks, 0 AS upheld
            FROM complaint_facts WHERE received_at IS NOT NULL
            UNION ALL
            SELECT COALESCE(product, 'unspecified'), reg_closed_month, 0, 1,
                   CASE WHEN fca_band = '3_business_days' THEN 1 ELSE 0 END,
                   CASE WHEN fca_band = '8_weeks' THEN 1 ELSE 0 END,
                   CASE WHEN fca_band = 'over_8_weeks' THEN 1 ELSE 0 END,
                   CASE WHEN upheld THEN 1 ELSE 0 END
            FROM complaint_facts WHERE received_at IS NOT NULL AND reg_closed_at IS NOT NULL
        ) AS counted
        GROUP BY product_group, month""",
}


def upgrade() -> None:
    with op.batch_alter_table("complaint_facts") as batch:
        for column in COLUMNS:
            batch.add_column(column._copy())
    op.create_table(
        "regulatory_clock_facts",
        sa.Column("complaint_id", sa.String(36), primary_key=True),
        sa.Column("clock", sa.String(64), primary_key=True),
        sa.Column("profile", sa.String(32)),
        sa.Column("started_at", TZ),
        sa.Column("due_at", TZ),
        sa.Column("warning_at", TZ),
        sa.Column("warned_at", TZ),
        sa.Column("breached_at", TZ),
        sa.Column("stopped_at", TZ),
        sa.Column("met", sa.Boolean),
    )
    op.create_table(
        "erased_complaints",
        sa.Column("complaint_id", sa.String(36), primary_key=True),
        sa.Column("request_id", sa.String(100), nullable=False),
        sa.Column("erased_at", TZ, nullable=False),
    )
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, query in VIEWS.items():
        op.execute(f"CREATE OR REPLACE VIEW bi.{name} AS {query}")
    op.execute("GRANT SELECT ON ALL TABLES IN SCHEMA bi TO bi_reader")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name in VIEWS:
            op.execute(f"DROP VIEW IF EXISTS bi.{name}")
    op.drop_table("erased_complaints")
    op.drop_table("regulatory_clock_facts")
    with op.batch_alter_table("complaint_facts") as batch:
        for column in reversed(COLUMNS):
            batch.drop_column(column.name)
