"""read-only schema `bi` of SQL views and the role `bi_reader` (PostgreSQL only)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 04:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Views run with their owner's rights, so bi_reader needs (and gets) no right on the tables.
VIEWS = {
    "complaints": """
        SELECT complaint_id, reference, customer_key, channel, category, product, region,
               priority, team, owner_id, department, incident_id, status, outcome, attested,
               received_at, received_week, received_month, assigned_at, due_at,
               first_proposed_at, first_resolved_at, last_rejected_at, confirmed_at, closed_at,
               proposals, resolved_proposals, rejections, resolved_rejected, reopen_count,
               tasks, tasks_met, tasks_missed, breaches, escalations, audit_outcome,
               first_contact_resolution, resolved_on_time, confirmed_on_time,
               hours_to_confirmation, hours_claimed_to_confirmed
        FROM complaint_facts WHERE received_at IS NOT NULL""",
    "tasks": "SELECT * FROM task_facts",
    "confirmations": "SELECT * FROM confirmation_facts",
    "audits": "SELECT * FROM audit_facts",
    "incidents": "SELECT * FROM incident_facts",
    "incident_complaints": "SELECT * FROM incident_links",
    "problems": "SELECT * FROM problem_facts",
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE SCHEMA IF NOT EXISTS bi")
    for name, query in VIEWS.items():
        op.execute(f"CREATE OR REPLACE VIEW bi.{name} AS {query}")
    # Roles are cluster-wide: several analytics databases on one server share the one reader.
    op.execute(
        "DO $$ BEGIN CREATE ROLE bi_reader NOLOGIN;"
        " EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
    )
    op.execute("GRANT USAGE ON SCHEMA bi TO bi_reader")
    op.execute("GRANT SELECT ON ALL TABLES IN SCHEMA bi TO bi_reader")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP SCHEMA IF EXISTS bi CASCADE")
