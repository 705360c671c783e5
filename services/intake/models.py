from sqlalchemy import JSON, Column, ForeignKey, Index, MetaData, String, Table, Text

from shared.tables import add_messaging_tables
from shared.timestamps import UtcDateTime

metadata = MetaData()

complaints = Table(
    "complaints",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("reference", String(32), nullable=False, unique=True),
    Column("customer_name", String(200), nullable=False),
    Column("customer_email", String(320)),
    Column("customer_phone", String(32)),
    Column("customer_external_id", String(200)),
    Column("customer_key", String(64), nullable=False, index=True),
    Column("channel", String(16), nullable=False),
    Column("contact", String(320), nullable=False),
    Column("category", String(100), nullable=False),
    Column("product", String(200)),
    Column("region", String(100)),
    Column("description", Text, nullable=False),
    Column("severity_hint", String(50)),
    Column("facts", JSON, nullable=False),
    Column("occurred_at", UtcDateTime()),
    Column("external_ref", String(200)),
    Column("received_at", UtcDateTime(), nullable=False),
)

contacts = Table(
    "contacts",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("complaint_id", String(36), ForeignKey("complaints.id"), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("contact", String(320), nullable=False),
    Column("text", Text, nullable=False),
    Column("received_at", UtcDateTime(), nullable=False),
    Index("ix_contacts_complaint", "complaint_id", "received_at"),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("scope", String(64), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("resource_id", String(36), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

outbox, inbox = add_messaging_tables(metadata)
