from sqlalchemy import (
    Boolean,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from shared.tables import add_messaging_tables
from shared.timestamps import UtcDateTime

metadata = MetaData()

# The outbound row keeps the proposal's correlation id so the sent message traces back to it. A
# caller may hand any length in a header; a longer one is cut here rather than failing the row.
CORRELATION_ID_WIDTH = 64


def stored_correlation_id(value: str) -> str:
    return value[:CORRELATION_ID_WIDTH]


# What confirmation must remember of each complaint: where the customer is to be answered.
complaints = Table(
    "complaints",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("reference", String(32), nullable=False, index=True),
    Column("channel", String(16), nullable=False),
    Column("contact", String(320), nullable=False),
    Column("customer_key", String(64), nullable=False),
    Column("received_at", UtcDateTime(), nullable=False),
    # BCP 47 as intake received it ("zh-CN"): the messages are written in it (texts.py).
    Column("language", String(16)),
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
    # HMAC-SHA256 (CONFIRMATION_TOKEN_HASH_SECRET) of the single-use token, never the token.
    Column("token_hash", String(64), unique=True),
    # Issued before hashes were keyed: token_hash is a plain SHA-256 until the request ends.
    Column("legacy_hash", Boolean, nullable=False, server_default="0"),
    Column("answer", String(10)),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("answered_at", UtcDateTime()),
    Column("last_reply_at", UtcDateTime()),
    Column("closed_at", UtcDateTime()),
    Column("closed_reason", String(200)),
    # A web/chat link dies at this time even when unused.
    Column("token_expires_at", UtcDateTime()),
    Column("reminders_sent", Integer, nullable=False, server_default="0"),
    Column("next_reminder_at", UtcDateTime()),
    Column("no_answer_at", UtcDateTime()),
    UniqueConstraint("complaint_id", "proposal_no", name="uq_requests_proposal"),
    Index("ix_requests_complaint_status", "complaint_id", "status"),
)

outbound_messages = Table(
    "outbound_messages",
    metadata,
    Column("id", String(36), primary_key=True),
    # None on an acknowledgement: it asks nothing, so nothing can answer it.
    Column("request_id", String(36), index=True),
    Column("complaint_id", String(36), nullable=False, index=True),
    Column("channel", String(16), nullable=False),
    Column("recipient", String(320), nullable=False),
    Column("subject", Text, nullable=False),
    # Subject and body carry the raw token until the message has gone out (or is cancelled);
    # then the token is replaced by "#…" (a link's by "/c/…"), so the timeline keeps the words.
    Column("body", Text, nullable=False),
    Column("message_id", String(300), nullable=False),
    Column("correlation_id", String(CORRELATION_ID_WIDTH), nullable=False),
    Column("status", String(20), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text),
    Column("next_attempt_at", UtcDateTime(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("sent_at", UtcDateTime()),
    # "request" announces confirmation.requested once sent; "reminder" confirmation.reminder_sent;
    # "acknowledgement" (the case was opened, no token), "final_response" and "message" (the
    # owner writing) ask nothing and announce nothing.
    Column("kind", String(16), nullable=False, server_default="request"),
    Column("reminder_no", Integer, nullable=False, server_default="0"),
    # When the token this message carries dies (web/chat links): part of the delivered payload.
    Column("expires_at", UtcDateTime()),
    Index("ix_outbound_due", "status", "next_attempt_at"),
    # One acknowledgement per complaint, however often the assignment is delivered.
    Index(
        "uq_outbound_acknowledgement",
        "complaint_id",
        unique=True,
        sqlite_where=text("kind = 'acknowledgement'"),
        postgresql_where=text("kind = 'acknowledgement'"),
    ),
)

# The one satisfaction question of a complaint, asked after the customer's yes, and its answer.
surveys = Table(
    "surveys",
    metadata,
    Column("complaint_id", String(36), primary_key=True),
    Column("channel", String(16), nullable=False),
    Column("asked_at", UtcDateTime(), nullable=False),
    Column("answered_at", UtcDateTime()),
    Column("score", Integer),
    Column("comment", Text),
    Column("inbound_id", String(36)),
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
    Column("received_at", UtcDateTime(), nullable=False),
    Column("attested", Boolean, nullable=False, server_default="0"),
    Column("evidence_type", String(20)),
    Column("evidence_ref", String(200)),
)

# Tokens issued after the first one (reminders): any live token of a pending request answers it.
request_tokens = Table(
    "request_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("request_id", String(36), nullable=False, index=True),
    Column("expires_at", UtcDateTime()),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("legacy_hash", Boolean, nullable=False, server_default="0"),
)

# Where a front end wants the web/chat links of its customers' sessions: one URL per channel,
# with the secret confirmation signs each delivery with (stored to sign; never returned).
delivery_webhooks = Table(
    "delivery_webhooks",
    metadata,
    Column("channel", String(16), primary_key=True),
    Column("url", String(2000), nullable=False),
    Column("secret", String(200), nullable=False),
    Column("updated_by", String(200), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

# Each time a live confirmation page was opened: keyed hashes of the visitor, never in clear.
page_opens = Table(
    "page_opens",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("request_id", String(36), nullable=False, index=True),
    Column("complaint_id", String(36), nullable=False, index=True),
    Column("opened_at", UtcDateTime(), nullable=False),
    Column("ip_hash", String(64), nullable=False),
    Column("user_agent_hash", String(64), nullable=False),
)

# Signatures of accepted webhook calls, so a captured call cannot be replayed.
webhook_signatures = Table(
    "webhook_signatures",
    metadata,
    Column("signature", String(64), primary_key=True),
    Column("source", String(16), nullable=False),
    Column("received_at", UtcDateTime(), nullable=False),
)

# The case's current owner, from case.assigned / case.reassigned: only they may attest.
case_owners = Table(
    "case_owners",
    metadata,
    Column("complaint_id", String(36), primary_key=True),
    Column("owner_id", String(200), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

audits = Table(
    "audits",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("complaint_id", String(36), nullable=False, index=True),
    Column("request_id", String(36), nullable=False),
    Column("owner_id", String(200), nullable=False),
    Column("auditor_id", String(200), nullable=False),
    Column("attested", Boolean, nullable=False),
    Column("status", String(10), nullable=False),
    Column("notes", Text),
    Column("completed_by", String(200)),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("completed_at", UtcDateTime()),
    # Still open at due_at: escalated once (escalated_at), by whichever replica claims it.
    Column("due_at", UtcDateTime()),
    Column("escalated_at", UtcDateTime()),
    Index("ix_audits_status", "status", "created_at"),
    Index("ix_audits_due", "status", "due_at"),
)

# Idempotency-Key of an attestation: the inbound message it recorded, from which the answer
# (accepted or refused) is given again to a repeat.
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
