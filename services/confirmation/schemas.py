"""Response bodies of the confirmation API. Tokens and their hashes are never part of them."""

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field

from shared.events import Channel


def _utc(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; every time stored here is UTC.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


Utc = Annotated[datetime, AfterValidator(_utc)]


class RequestPublic(BaseModel):
    id: str
    owner_id: str
    channel: Channel
    contact: str = Field(description="The customer's original address on `channel`.")
    outcome: str
    summary: str
    proposal_no: int
    status: str = Field(
        description="pending, awaiting_channel (channel not delivered yet), confirmed, "
        "rejected, superseded or closed."
    )
    answer: str | None = Field(None, description="yes or no, once the customer answered.")
    created_at: Utc
    answered_at: Utc | None
    last_reply_at: Utc | None
    closed_at: Utc | None
    closed_reason: str | None


class OutboundPublic(BaseModel):
    id: str
    request_id: str
    channel: Channel
    recipient: str
    subject: str = Field(description="As sent, with the token replaced by `#[token]`.")
    status: str = Field(description="queued, sent or cancelled.")
    attempts: int
    last_error: str | None
    created_at: Utc
    sent_at: Utc | None


class InboundPublic(BaseModel):
    id: str
    request_id: str | None
    channel: Channel
    sender: str
    envelope_sender: str | None
    subject: str
    text: str = Field(description="The customer's new text, quotes removed, tokens redacted.")
    verdict: str = Field(
        description="yes, no or unclear for an answer; rejected when the message did not count."
    )
    reason: str | None = Field(
        None,
        description="Why it did not count: unknown_token, token_used, sender_mismatch, "
        "wrong_channel or auto_reply.",
    )
    received_at: Utc


class ConfirmationsPublic(BaseModel):
    complaint_id: str
    reference: str | None
    channel: Channel | None
    requests: list[RequestPublic]
    outbound: list[OutboundPublic]
    inbound: list[InboundPublic]
