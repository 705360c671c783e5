"""The analytics read model. It holds no personal data: no names, contacts or free text."""

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
)

from shared.tables import add_messaging_tables

metadata = MetaData()

# Append-only: each event's non-personal attributes, once per event_id, so a complaint's facts
# can be recomputed exactly whatever order or how often its events arrive.
fact_events = Table(
    "fact_events",
    metadata,
    Column("event_id", String(36), primary_key=True),
    Column("complaint_id", String(36), nullable=False),
    Column("type", String(100), nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("attributes", JSON, nullable=False),
    Index("ix_fact_events_complaint", "complaint_id", "occurred_at"),
)

# One row per complaint, always the projection of its fact_events.
complaint_facts = Table(
    "complaint_facts",
    metadata,
    Column("complaint_id", String(36), primary_key=True),
    Column("reference", String(32)),
    Column("channel", String(16)),
    Column("category", String(100)),
    Column("product", String(200)),
    Column("region", String(100)),
    Column("priority", String(2)),
    Column("team", String(100)),
    Column("owner_id", String(100)),
    Column("received_at", DateTime(timezone=True), index=True),
    Column("assigned_at", DateTime(timezone=True)),
    Column("first_proposed_at", DateTime(timezone=True)),
    Column("confirmed_at", DateTime(timezone=True)),
    Column("closed_at", DateTime(timezone=True)),
    Column("outcome", String(32)),
    Column("attested", Boolean),
    Column("rejections", Integer, nullable=False, default=0),
    Column("reopen_count", Integer, nullable=False, default=0),
    Column("status", String(32)),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

outbox, inbox = add_messaging_tables(metadata)
