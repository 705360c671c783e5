from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    false,
    text,
)

from shared.accesslog import add_access_log
from shared.tables import add_messaging_tables
from shared.timestamps import UtcDateTime

metadata = MetaData()

# Organisation: loaded from the organisation file at start; people and teams are deactivated,
# never deleted, because cases keep pointing at them.
teams = Table(
    "teams",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("lead_id", String(64), nullable=False),
    Column("is_default", Boolean, nullable=False),
    Column("active", Boolean, nullable=False),
)

team_categories = Table(
    "team_categories",
    metadata,
    Column("category", String(200), primary_key=True),
    Column("team_id", String(64), ForeignKey("teams.id"), nullable=False),
)

owners = Table(
    "owners",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("team_id", String(64), ForeignKey("teams.id"), nullable=False),
    # A lead who is not a member of the team takes cases only when the team has nobody else.
    Column("assignable", Boolean, nullable=False),
    Column("capacity", Integer),
    Column("active", Boolean, nullable=False),
    # Empty skills or languages mean the owner takes any category or language.
    Column("skills", JSON),
    Column("languages", JSON),
    Column("away", Boolean, nullable=False, server_default=false()),
    # Working hours and time zone: off shift, an owner is chosen only when nobody is on shift.
    Column("calendar_id", String(64)),
)

calendars = Table(
    "calendars",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("timezone", String(64), nullable=False),
    # {"mon": "09:00-17:00", ...} and ["2026-12-25", ...], as written in the organisation file.
    Column("hours", JSON, nullable=False),
    Column("holidays", JSON, nullable=False),
)

departments = Table(
    "departments",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("calendar_id", String(64)),
)

task_slas = Table(
    "task_slas",
    metadata,
    Column("department_id", String(64), ForeignKey("departments.id"), primary_key=True),
    Column("task_type", String(64), primary_key=True),
    Column("hours", Float, nullable=False),
)

case_targets = Table(
    "case_targets",
    metadata,
    Column("priority", String(2), primary_key=True),
    Column("hours", Float, nullable=False),
)

sla_policy = Table(
    "sla_policy",
    metadata,
    Column("id", String(16), primary_key=True),
    Column("warning_fraction", Float, nullable=False),
    Column("default_priority", String(2), nullable=False),
    Column("calendar_id", String(64)),
    Column("continuity_days", Float),
)

cases = Table(
    "cases",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("reference", String(32), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("category", String(100), nullable=False),
    Column("product", String(200)),
    Column("region", String(100)),
    Column("customer_key", String(64), nullable=False),
    Column("language", String(16)),
    Column("customer_clock_started_at", UtcDateTime(), nullable=False),
    Column("status", String(32), nullable=False),
    Column("owner_id", String(64), ForeignKey("owners.id"), nullable=False),
    Column("team_id", String(64), ForeignKey("teams.id"), nullable=False),
    Column("priority", String(2)),
    Column("priority_reasons", JSON, nullable=False),
    # The case SLA runs from here: receipt at first, the customer's rejection after a reopen.
    Column("sla_started_at", UtcDateTime(), nullable=False),
    Column("due_at", UtcDateTime()),
    Column("proposal_no", Integer, nullable=False),
    Column("proposed_outcome", String(20)),
    # The confirmation request confirmation sent for proposal `confirmation_request_proposal`:
    # only an answer to it, for the current proposal, may close or reopen the case.
    Column("confirmation_request_id", String(64)),
    Column("confirmation_request_proposal", Integer),
    Column("resolution_summary", Text),
    Column("closed_at", UtcDateTime()),
    Column("outcome", String(20)),
    Column("reopen_count", Integer, nullable=False),
    # When the customer last wrote without answering a question (a follow-up contact, a reply
    # to a message): the owner's cue to read the timeline.
    Column("customer_wrote_at", UtcDateTime()),
    # Set while the case is merged into another (status `merged`): it closes with that one.
    Column("merged_into", String(36)),
    # Bumped first in every command so the row (PostgreSQL) or database (SQLite) is locked.
    Column("lock_version", Integer, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Index("ix_cases_owner_status", "owner_id", "status"),
    Index("ix_cases_status_due", "status", "due_at"),
    Index("ix_cases_customer", "customer_key", "updated_at"),
)

# Cases a supervisor linked (the same customer's related matters, one incident's cases): each
# link is kept once, from the lower id to the higher, and shown on both.
case_links = Table(
    "case_links",
    metadata,
    Column("case_id", String(36), primary_key=True),
    Column("linked_id", String(36), primary_key=True),
    Column("reason", Text, nullable=False),
    Column("linked_by", String(64), nullable=False),
    Column("linked_at", UtcDateTime(), nullable=False),
    Index("ix_case_links_linked", "linked_id"),
)

pending_priorities = Table(
    "pending_priorities",
    metadata,
    Column("case_id", String(36), primary_key=True),
    Column("priority", String(2), nullable=False),
    Column("reasons", JSON, nullable=False),
    Column("event_id", String(36), nullable=False),
    Column("producer", String(64), nullable=False),
    Column("received_at", UtcDateTime(), nullable=False),
)

timeline = Table(
    "timeline",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("case_id", String(36), ForeignKey("cases.id"), nullable=False),
    Column("at", UtcDateTime(), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("detail", JSON, nullable=False),
    Index("ix_timeline_case", "case_id", "id"),
)

tasks = Table(
    "tasks",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("case_id", String(36), ForeignKey("cases.id"), nullable=False),
    Column("department", String(64), ForeignKey("departments.id"), nullable=False),
    Column("type", String(64), nullable=False),
    Column("description", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("due_at", UtcDateTime(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("completed_at", UtcDateTime()),
    Column("completed_by", String(200)),
    Column("note", Text),
    Column("acknowledged_at", UtcDateTime()),
    Column("acknowledged_by", String(200)),
    Index("ix_tasks_case_status", "case_id", "status"),
    Index("ix_tasks_department_status", "department", "status", "due_at"),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("scope", String(64), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("response", JSON, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

timers = Table(
    "timers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),
    Column("subject", String(8), nullable=False),
    Column("subject_id", String(36), nullable=False),
    Column("case_id", String(36), nullable=False),
    Column("department", String(64)),
    Column("due_at", UtcDateTime(), nullable=False),
    # The SLA's due time, which a warning timer reports although it fires earlier.
    Column("sla_due_at", UtcDateTime(), nullable=False),
    Column("fired_at", UtcDateTime()),
    Column("created_at", UtcDateTime(), nullable=False),
    # Only pending timers are in this index, so the scan reads the due ones and stops: its cost
    # follows the timers due, not the timers open, however many cases are waiting.
    Index(
        "ix_timers_pending_due",
        "due_at",
        postgresql_where=text("fired_at IS NULL"),
        sqlite_where=text("fired_at IS NULL"),
    ),
    Index("ix_timers_subject", "subject_id", "fired_at"),
)

org_audit = Table(
    "org_audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime(), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("entity", String(32), nullable=False),
    Column("entity_id", String(64), nullable=False),
    Column("before", JSON),
    Column("after", JSON),
    Index("ix_org_audit_entity", "entity", "entity_id", "id"),
)

# Who read a case through the API (shared.accesslog).
access_log = add_access_log(metadata)

outbox, inbox = add_messaging_tables(metadata)
