from sqlalchemy import (
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from shared.tables import add_messaging_tables

metadata = MetaData()

# What confirmation must remember of each complaint: where the customer is to be answered.
complaints = Table(
    "complaints",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("reference", String(32), nullable=False, index=True),
    Column("channel", String(16), nullable=False),
    Column("contact", String(320), nullable=False),
    Column("customer_key", String(64), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
)

requests = Table(
    "confirmation_requests",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("complaint_id", String(36), nullable=False),
    Column("owner_id", String(200), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("contact", String(320), nullable=False),
    Column("outcome", String(32), nullable=False),
    Column("summary", Text, nullable=False),
    Column("proposal_no", Integer, nullable=False),
    Column("status", String(20), nullable=False),
    # SHA-256 of the single-use token; the token itself is never stored here.
    Column("token_hash", String(64), unique=True),
    Column("answer", String(10)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("answered_at", DateTime(timezone=True)),
    Column("last_reply_at", DateTime(timezone=True)),
    Column("closed_at", DateTime(timezone=True)),
    Column("closed_reason", String(200)),
    UniqueConstraint("complaint_id", "proposal_no", name="uq_requests_proposal"),
    Index("ix_requests_complaint_status", "complaint_id", "status"),
)

outbound_messages = Table(
    "outbound_messages",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("request_id", String(36), nullable=False, index=True),
    Column("complaint_id", String(36), nullable=False, index=True),
    Column("channel", String(16), nullable=False),
    Column("recipient", String(320), nullable=False),
    Column("subject", Text, nullable=False),
    # Carries the raw token until the message has gone out: it is the email we send.
    Column("body", Text, nullable=False),
    Column("message_id", String(300), nullable=False),
    Column("correlation_id", String(64), nullable=False),
    Column("status", String(20), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True)),
    Index("ix_outbound_due", "status", "next_attempt_at"),
)

inbound_messages = Table(
    "inbound_messages",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("complaint_id", String(36), index=True),
    Column("request_id", String(36)),
    Column("channel", String(16), nullable=False),
    Column("sender", String(320), nullable=False),
    Column("envelope_sender", String(320)),
    Column("subject", Text, nullable=False),
    Column("text", Text, nullable=False),
    Column("message_id", String(300)),
    Column("verdict", String(20), nullable=False),
    Column("reason", String(40)),
    Column("received_at", DateTime(timezone=True), nullable=False),
)

outbox, inbox = add_messaging_tables(metadata)
