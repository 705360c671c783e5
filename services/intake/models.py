from sqlalchemy import (
    JSON,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    text,
)

from shared.accesslog import add_access_log
from shared.tables import add_messaging_tables
from shared.timestamps import UtcDateTime

metadata = MetaData()

# One record per person, however many identifiers they reach us with. `key` is the pseudonym
# other services see; a customer merged into another keeps its row, pointing at the survivor.
customers = Table(
    "customers",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("key", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("merged_into", String(36)),
    Column("created_at", UtcDateTime(), nullable=False),
)

# Each identifier (kind `ext`, `email`, `phone` or `contact`; value normalised) names one customer.
customer_identifiers = Table(
    "customer_identifiers",
    metadata,
    Column("kind", String(16), primary_key=True),
    Column("value", String(320), primary_key=True),
    Column("customer_id", String(36), ForeignKey("customers.id"), nullable=False, index=True),
    Column("created_at", UtcDateTime(), nullable=False),
)

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
    Column("customer_id", String(36), ForeignKey("customers.id")),
    Column("language", String(35)),
    # The case as ownership announces it, kept from the bus (status_at: the event that set it).
    Column("status", String(32), nullable=False, server_default=text("'received'")),
    Column("status_at", UtcDateTime()),
    Column("owner_team", String(100)),
    Column("priority", String(4)),
    Column("due_at", UtcDateTime()),
    # The complaint's latest contact from the customer: the window of joining counts from it.
    Column("last_contact_at", UtcDateTime()),
    Index("ix_complaints_customer_matter", "customer_id", "category", "product"),
    Index("ix_complaints_received", "received_at", "id"),
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
    # A follow-up sent by email or SMS: the id confirmation announced it under, which its own
    # records of the message carry, so an erasure of the customer reaches them too.
    Column("submission_id", String(36)),
    # A supervisor split it off as another matter: the complaint opened from it.
    Column("split_into", String(36)),
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
    # How the request was answered when that was not by creating: `joined`.
    Column("outcome", String(16)),
)

# A customer's erasure, coordinated here: `waiting` (see waiting_reason) until nothing holds it
# back, then `sent` (customer.erasure_requested is in the outbox), `completed` once every
# service confirmed.
erasure_requests = Table(
    "erasure_requests",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("customer_id", String(36), nullable=False, index=True),
    Column("reason", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("waiting_reason", String(32)),
    Column("complaint_ids", JSON, nullable=False),
    Column("requested_by", String(200), nullable=False),
    Column("requested_at", UtcDateTime(), nullable=False),
    Column("sent_at", UtcDateTime()),
    Column("completed_at", UtcDateTime()),
    Index("ix_erasure_requests_status", "status"),
)

erasure_confirmations = Table(
    "erasure_confirmations",
    metadata,
    Column("request_id", String(36), ForeignKey("erasure_requests.id"), primary_key=True),
    Column("service", String(32), primary_key=True),
    Column("erased_rows", Integer, nullable=False),
    Column("confirmed_at", UtcDateTime(), nullable=False),
)

# A legal hold stops a customer's erasure (by request or by retention) until it is lifted.
legal_holds = Table(
    "legal_holds",
    metadata,
    Column("customer_id", String(36), primary_key=True),
    Column("reason", Text, nullable=False),
    Column("set_by", String(200), nullable=False),
    Column("set_at", UtcDateTime(), nullable=False),
)

# Who read personal data through the API (shared.accesslog).
access_log = add_access_log(metadata)

outbox, inbox = add_messaging_tables(metadata)
