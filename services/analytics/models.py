"""The analytics read model. It holds no personal data: no names, contacts or free text.

Customers appear only as intake's keyed pseudonym (`customer_key`).
"""

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    text,
)

from services.analytics.kpi import counts as kpi_counts
from shared.tables import add_messaging_tables
from shared.timestamps import UtcDateTime

metadata = MetaData()

# The archive: each event's non-personal attributes, once per event_id. Every fact table below
# is a pure projection of one stream of it (a complaint, an incident or a problem), so facts can
# be recomputed exactly whatever order or how often events arrive, and rebuilt from scratch.
fact_events = Table(
    "fact_events",
    metadata,
    Column("event_id", String(36), primary_key=True),
    Column("complaint_id", String(36)),
    Column("stream", String(120)),
    Column("type", String(100), nullable=False),
    Column("occurred_at", UtcDateTime(), nullable=False),
    Column("attributes", JSON, nullable=False),
    Index("ix_fact_events_stream", "stream"),
)

# One row per stream, touched first by every ingest: the row lock serialises two transactions
# projecting the same stream, so the second one sees the first one's events. `token` is the
# random number of the last transaction that wrote the stream and `previous` the one before it
# (see services/analytics/projection/state_cache.py).
streams = Table(
    "streams",
    metadata,
    Column("stream", String(120), primary_key=True),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("token", BigInteger),
    Column("previous", BigInteger),
)

complaint_facts = Table(
    "complaint_facts",
    metadata,
    Column("complaint_id", String(36), primary_key=True),
    Column("reference", String(32)),
    Column("customer_key", String(64)),
    Column("channel", String(16)),
    Column("category", String(100)),
    Column("product", String(200)),
    Column("region", String(100)),
    Column("priority", String(2)),
    Column("team", String(100)),
    Column("owner_id", String(100)),
    Column("department", String(100)),
    Column("received_at", UtcDateTime(), index=True),
    Column("received_week", String(8)),
    Column("received_month", String(7)),
    Column("assigned_at", UtcDateTime()),
    Column("due_at", UtcDateTime()),
    Column("first_proposed_at", UtcDateTime()),
    Column("first_resolved_at", UtcDateTime()),
    Column("last_rejected_at", UtcDateTime()),
    Column("confirmed_at", UtcDateTime()),
    Column("closed_at", UtcDateTime()),
    # Precomputed so that percentiles sort plain floats (PostgreSQL's EXTRACT gives numerics).
    Column("hours_to_confirmation", Float),
    Column("hours_claimed_to_confirmed", Float),
    Column("outcome", String(32)),
    Column("attested", Boolean),
    Column("proposals", Integer, nullable=False, default=0),
    Column("resolved_proposals", Integer, nullable=False, default=0),
    Column("rejections", Integer, nullable=False, default=0),
    Column("resolved_rejected", Integer, nullable=False, default=0),
    Column("reopen_count", Integer, nullable=False, default=0),
    Column("tasks", Integer, nullable=False, default=0),
    Column("tasks_met", Integer, nullable=False, default=0),
    Column("tasks_missed", Integer, nullable=False, default=0),
    Column("breaches", Integer, nullable=False, default=0),
    Column("escalations", Integer, nullable=False, default=0),
    Column("incident_id", String(100)),
    Column("audit_outcome", String(16)),
    Column("first_contact_resolution", Boolean),
    Column("resolved_on_time", Boolean),
    Column("confirmed_on_time", Boolean),
    Column("status", String(32)),
    # Regulators (services/analytics/projection/regulatory.py): the profile ownership applied, the
    # final
    # response, and when the regulator counts the complaint closed (the earlier of the final
    # response and the customer's confirmed closure), with its FCA time band.
    Column("profile", String(32)),
    Column("final_response_at", UtcDateTime()),
    Column("final_response_outcome", String(32)),
    Column("first_response_at", UtcDateTime()),
    Column("reg_closed_at", UtcDateTime()),
    Column("reg_closed_month", String(7)),
    Column("business_days_to_close", Integer),
    Column("fca_band", String(16)),
    Column("upheld", Boolean),
    Column("regulatory_breaches", Integer, nullable=False, default=0),
    # The customer's answer to "how did we do?" after their yes (1-5), and when.
    Column("satisfaction_score", Integer),
    Column("satisfaction_at", UtcDateTime()),
    Column("updated_at", UtcDateTime(), nullable=False),
    # The unconfirmed backlog reads the open complaints of the last 30 days.
    Index(
        "ix_complaint_facts_open",
        "received_at",
        postgresql_where=text("closed_at IS NULL"),
        sqlite_where=text("closed_at IS NULL"),
    ),
)

task_facts = Table(
    "task_facts",
    metadata,
    Column("task_id", String(100), primary_key=True),
    Column("complaint_id", String(36), nullable=False, index=True),
    Column("department", String(100)),
    Column("type", String(100)),
    Column("created_at", UtcDateTime()),
    Column("due_at", UtcDateTime()),
    Column("acknowledged_at", UtcDateTime()),
    Column("completed_at", UtcDateTime()),
    Column("warned", Boolean, nullable=False, default=False),
    Column("breached", Boolean, nullable=False, default=False),
    Column("met_sla", Boolean),
)

confirmation_facts = Table(
    "confirmation_facts",
    metadata,
    Column("request_id", String(100), primary_key=True),
    Column("complaint_id", String(36), nullable=False, index=True),
    Column("channel", String(16)),
    Column("requested_at", UtcDateTime()),
    Column("reminders", Integer, nullable=False, default=0),
    Column("no_answer", Boolean, nullable=False, default=False),
    Column("answer", String(16)),
    Column("answered_at", UtcDateTime()),
    Column("answer_channel", String(16)),
    Column("on_original_channel", Boolean),
    Column("attested", Boolean),
)

audit_facts = Table(
    "audit_facts",
    metadata,
    Column("audit_id", String(100), primary_key=True),
    Column("complaint_id", String(36), nullable=False, index=True),
    Column("attested", Boolean),
    Column("requested_at", UtcDateTime()),
    Column("completed_at", UtcDateTime()),
    Column("outcome", String(16)),
)

# One row per regulator's clock of a complaint (case.policy_applied, regulatory.*).
regulatory_clock_facts = Table(
    "regulatory_clock_facts",
    metadata,
    Column("complaint_id", String(36), primary_key=True),
    Column("clock", String(64), primary_key=True),
    Column("profile", String(32)),
    Column("started_at", UtcDateTime()),
    Column("due_at", UtcDateTime()),
    Column("warning_at", UtcDateTime()),
    Column("warned_at", UtcDateTime()),
    Column("breached_at", UtcDateTime()),
    Column("stopped_at", UtcDateTime()),
    Column("met", Boolean),
)

# Complaints whose customer asked to be erased: their pseudonym and reference are masked in the
# archive and facts, and stay masked whatever arrives later. Not a projection: a rebuild keeps it.
erased_complaints = Table(
    "erased_complaints",
    metadata,
    Column("complaint_id", String(36), primary_key=True),
    Column("request_id", String(100), nullable=False),
    Column("erased_at", UtcDateTime(), nullable=False),
)

incident_facts = Table(
    "incident_facts",
    metadata,
    Column("incident_id", String(100), primary_key=True),
    Column("status", String(32)),
    Column("product", String(200)),
    Column("category", String(100)),
    Column("region", String(100)),
    Column("detected_at", UtcDateTime()),
    Column("updated_at", UtcDateTime()),
    Column("complaints", Integer, nullable=False, default=0),
    Column("merged_into", String(100)),
)

incident_links = Table(
    "incident_links",
    metadata,
    Column("incident_id", String(100), primary_key=True),
    Column("complaint_id", String(36), primary_key=True),
    Index("ix_incident_links_complaint", "complaint_id"),
)

problem_facts = Table(
    "problem_facts",
    metadata,
    Column("problem_id", String(100), primary_key=True),
    Column("incident_id", String(100)),
    Column("status", String(32)),
    Column("opened_at", UtcDateTime()),
    Column("cause_identified_at", UtcDateTime()),
    Column("effect_checked_at", UtcDateTime()),
    Column("effective", Boolean),
    Column("rate_before", Float),
    Column("rate_after", Float),
    Column("actions", Integer, nullable=False, default=0),
    Column("actions_completed", Integer, nullable=False, default=0),
    Column("actions_late", Integer, nullable=False, default=0),
)

# Additive counts of complaint_facts kept per rollup row (services/analytics/kpi/rollup.py), as
# declared in services/analytics/kpi/counts.py.
ROLLUP_COUNTS = kpi_counts.NAMES

# Per dimension (channel, owner, ..., "all"), key, and UTC day ("d") or month ("m") of receipt:
# the complaints' ROLLUP_COUNTS summed, and histograms of the hours to the customer's yes and
# from the first "resolved" to the yes (services/analytics/kpi/sketch.py). Internal, not exported.
kpi_rollup = Table(
    "kpi_rollup",
    metadata,
    Column("dimension", String(16), primary_key=True),
    Column("grain", String(1), primary_key=True),
    Column("period", Date, primary_key=True),
    Column("key", String(200), primary_key=True),
    *(Column(name, Integer, nullable=False, default=0) for name in ROLLUP_COUNTS),
    Column("to_yes", LargeBinary, nullable=False),
    Column("gap", LargeBinary, nullable=False),
)

# What BI tools may download; fact_events stays internal (its attributes are free-form JSON).
EXPORTABLE = {
    t.name: t
    for t in (
        complaint_facts,
        task_facts,
        confirmation_facts,
        audit_facts,
        regulatory_clock_facts,
        incident_facts,
        incident_links,
        problem_facts,
    )
}
# Emptied by a rebuild, which then re-projects every stream of fact_events.
PROJECTIONS = [streams, *EXPORTABLE.values(), kpi_rollup]

outbox, inbox = add_messaging_tables(metadata)
