from sqlalchemy import JSON, Column, DateTime, MetaData, String, Table

from shared.tables import add_messaging_tables

metadata = MetaData()

priorities = Table(
    "priorities",
    metadata,
    Column("complaint_id", String(36), primary_key=True),
    Column("priority", String(2), nullable=False),
    Column("reasons", JSON, nullable=False),
    Column("appraised_at", DateTime(timezone=True), nullable=False),
)

outbox, inbox = add_messaging_tables(metadata)
