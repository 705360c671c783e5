from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from shared.tables import add_messaging_tables
from shared.timestamps import UtcDateTime

metadata = MetaData()

priorities = Table(
    "priorities",
    metadata,
    Column("complaint_id", String(36), primary_key=True),
    Column("priority", String(2), nullable=False),
    Column("reasons", JSON, nullable=False),
    Column("appraised_at", UtcDateTime(), nullable=False),
    # A supervisor's override, with who and why: the rules and incidents leave it alone after.
    Column("overridden_by", String(64), nullable=True),
    Column("override_reason", Text, nullable=True),
)

# One row per pattern key: a fixed-size ring of recent bucket counts and the learned baseline.
pattern_stats = Table(
    "pattern_stats",
    metadata,
    Column("key_hash", String(40), primary_key=True),
    Column("pattern", String(32), nullable=False),
    Column("dim_a", String(255), nullable=False),
    Column("dim_b", String(255), nullable=False),
    Column("bucket", Integer, nullable=False),
    Column("counts", JSON, nullable=False),
    Column("mean", Float, nullable=False),
    Column("var", Float, nullable=False),
    Column("folded", Integer, nullable=False),
    Column("incident_id", String(36), nullable=True),
    Index("ix_pattern_stats_dims", "pattern", "dim_a", "dim_b"),
)

detector_meta = Table(
    "detector_meta",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("value", Integer, nullable=False),
)

# Complaints of the current window only (older rows are pruned): the ones an incident links.
recent_complaints = Table(
    "recent_complaints",
    metadata,
    Column("complaint_id", String(36), primary_key=True),
    Column("bucket", Integer, nullable=False, index=True),
    Column("received_at", UtcDateTime(), nullable=False),
    Column("product", String(255), nullable=True),
    Column("category", String(255), nullable=False),
    Column("region", String(255), nullable=True),
    # What the customer wrote, before it was mapped to the canonical value above.
    Column("product_raw", String(255), nullable=True),
    Column("category_raw", String(255), nullable=True),
    Column("region_raw", String(255), nullable=True),
)

# Every value seen per dimension under its normalised key: the canonical value it maps to (the
# catalogue's id, or the first spelling seen of an unknown value) and how often it came.
value_keys = Table(
    "value_keys",
    metadata,
    Column("dimension", String(16), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("value", String(255), nullable=False),
    Column("catalogued", Boolean, nullable=False),
    Column("seen", Integer, nullable=False),
    Column("first_seen", UtcDateTime(), nullable=False),
    Column("last_seen", UtcDateTime(), nullable=False),
)

# Aliases an admin added to the catalogue file's entries, by normalised key.
catalogue_aliases = Table(
    "catalogue_aliases",
    metadata,
    Column("dimension", String(16), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("alias", String(255), nullable=False),
    Column("canonical_id", String(255), nullable=False),
    Column("added_by", String(64), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

incidents = Table(
    "incidents",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("key_hash", String(40), nullable=False),
    Column("pattern", String(32), nullable=False),
    Column("dims", JSON, nullable=False),
    Column("status", String(16), nullable=False),
    Column("spec", JSON, nullable=False),
    Column("evidence", JSON, nullable=False),
    Column("complaint_count", Integer, nullable=False),
    Column("first_at", UtcDateTime(), nullable=False),
    Column("last_at", UtcDateTime(), nullable=False),
    Column("merged_into", String(36), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Index("ix_incidents_key_status", "key_hash", "status"),
)

incident_complaints = Table(
    "incident_complaints",
    metadata,
    Column("incident_id", String(36), primary_key=True),
    Column("complaint_id", String(36), primary_key=True),
    Column("received_at", UtcDateTime(), nullable=False),
)

case_owners = Table(
    "case_owners",
    metadata,
    Column("case_id", String(36), primary_key=True),
    Column("owner_id", String(64), nullable=False),
    Column("team", String(64), nullable=False),
)

# One row per ladder step sent: the unique key is what makes a repeated breach send nothing.
escalations = Table(
    "escalations",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("subject", String(8), nullable=False),
    Column("subject_id", String(64), nullable=False),
    Column("due_at", UtcDateTime(), nullable=False),
    Column("step", String(32), nullable=False),
    Column("recipient", String(64), nullable=False),
    Column("case_id", String(36), nullable=True),
    Column("reason", Text, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    UniqueConstraint("subject", "subject_id", "due_at", "step", name="uq_escalation_step"),
    Index("ix_escalations_created", "created_at", "id"),
    Index("ix_escalations_case", "case_id"),
    Index("ix_escalations_recipient", "recipient", "created_at"),
)

problems = Table(
    "problems",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("incident_id", String(36), nullable=True),
    Column("title", String(200), nullable=False),
    Column("status", String(24), nullable=False),
    Column("key_hash", String(40), nullable=True, index=True),
    Column("pattern", JSON, nullable=True),
    Column("analysis", JSON, nullable=True),
    Column("cause", Text, nullable=True),
    Column("opened_by", String(64), nullable=False),
    Column("fixed_at", UtcDateTime(), nullable=True),
    # When the problem began (its incident's first complaint, else its opening) and, from an
    # incident, the daily rate the incident was measured against: the "before" of the effect.
    Column("onset_at", UtcDateTime(), nullable=True),
    Column("baseline_rate", Float, nullable=True),
    Column("rate_before", Float, nullable=True),
    Column("rate_after", Float, nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

# Complaints of a problem's pattern per detector bucket, kept while the problem is open, so the
# effect of a fix is measured without keeping the whole history of every pattern.
problem_counts = Table(
    "problem_counts",
    metadata,
    Column("problem_id", String(36), primary_key=True),
    Column("bucket", Integer, primary_key=True),
    Column("count", Integer, nullable=False),
)

actions = Table(
    "actions",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("problem_id", String(36), nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("description", Text, nullable=False),
    Column("owner_id", String(64), nullable=False),
    Column("due_at", UtcDateTime(), nullable=False),
    Column("status", String(16), nullable=False),
    Column("completed_at", UtcDateTime(), nullable=True),
    Column("overdue_notified", Boolean, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

# What each escalation is sent as: an email to its recipient, a POST to the case team's chat
# webhook. Queued with the escalation in one transaction (one per escalation, channel and
# address), claimed with a lease by the sender, retried with back-off until delivered.
notifications = Table(
    "notifications",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("escalation_id", String(36), nullable=False),
    Column("channel", String(8), nullable=False),  # email | webhook
    Column("address", String(320), nullable=False),  # the mailbox, or the team's name
    Column("subject", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("status", String(8), nullable=False),  # queued | sent
    Column("attempts", Integer, nullable=False),
    Column("last_error", Text, nullable=True),
    Column("next_attempt_at", UtcDateTime(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("sent_at", UtcDateTime(), nullable=True),
    UniqueConstraint("escalation_id", "channel", "address", name="uq_notification"),
    Index("ix_notifications_due", "status", "next_attempt_at"),
)

# A team's chat tool: where its escalations are posted, signed with its secret.
team_webhooks = Table(
    "team_webhooks",
    metadata,
    Column("team", String(64), primary_key=True),
    Column("url", String(2000), nullable=False),
    Column("secret", String(200), nullable=False),
    Column("updated_by", String(64), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

# The first answer to each Idempotency-Key of a POST that creates, replayed to a repeat.
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("scope", String(64), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("response", JSON, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

outbox, inbox = add_messaging_tables(metadata)
