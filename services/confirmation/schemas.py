"""Response bodies of the confirmation API. Tokens and their hashes are never part of them."""

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

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
        description="pending, confirmed, rejected, unclear (a page answer the owner must "
        "follow up), superseded or closed (awaiting_channel on requests made before every "
        "channel was delivered)."
    )
    reminders_sent: int = 0
    next_reminder_at: Utc | None = None
    no_answer_at: Utc | None = None
    answer: str | None = Field(None, description="yes or no, once the customer answered.")
    created_at: Utc
    answered_at: Utc | None
    last_reply_at: Utc | None
    closed_at: Utc | None
    closed_reason: str | None


class OutboundPublic(BaseModel):
    id: str
    request_id: str | None = Field(None, description="None on an acknowledgement: asks nothing.")
    channel: Channel
    recipient: str
    subject: str = Field(description="As sent, with the token replaced by `#…` (`#[token]`).")
    status: str = Field(description="queued, sent or cancelled.")
    kind: str = Field("request", description="request, reminder or acknowledgement.")
    reminder_no: int = 0
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
        description="Why it did not count: unknown_token, token_used, token_expired, "
        "sender_mismatch, wrong_channel, auto_reply, missing_signature, bad_signature, "
        "stale_timestamp, replayed or not_owner.",
    )
    received_at: Utc
    attested: bool = False
    evidence_type: str | None = None
    evidence_ref: str | None = None


class OpenedPublic(BaseModel):
    """The confirmation page was opened while it could be answered."""

    request_id: str
    event: Literal["opened"] = "opened"
    opened_at: Utc
    ip_hash: str = Field(description="HMAC-SHA256 of the visitor's IP address (keyed).")
    user_agent_hash: str = Field(description="HMAC-SHA256 of the visitor's User-Agent (keyed).")


class ConfirmationsPublic(BaseModel):
    complaint_id: str
    reference: str | None
    channel: Channel | None
    requests: list[RequestPublic]
    outbound: list[OutboundPublic]
    inbound: list[InboundPublic]
    opened: list[OpenedPublic] = Field(
        default_factory=list, description="Each opening of a web/chat confirmation page."
    )


class DeliveryWebhookSet(BaseModel):
    """Where the front end wants its customers' confirmation links, and the signing secret."""

    model_config = ConfigDict(extra="forbid")
    url: str = Field(min_length=8, max_length=2000, pattern=r"^https?://[^\s/?#]+[^\s]*$")
    secret: str = Field(
        min_length=32, max_length=200, description="Signs every delivery; never returned."
    )


class DeliveryWebhookPublic(BaseModel):
    channel: Literal["web", "chat"]
    url: str
    updated_by: str
    updated_at: Utc


class AttestationCreate(BaseModel):
    """What the customer said on the phone, at the counter or in a letter, as the owner heard it;
    or, once their answer by email, SMS, web or chat was unclear or never came, what they said
    since, with that channel's evidence."""

    model_config = ConfigDict(extra="forbid")
    answer: Literal["yes", "no", "unclear"]
    evidence_type: Literal[
        "call_reference",
        "visit_note",
        "letter_scan",
        "message_id",
        "sender_number",
        "transcript_ref",
    ] = Field(
        description="phone: call_reference, walk_in: visit_note, letter: letter_scan, "
        "email: message_id (the customer's message's Message-ID), sms: sender_number (the "
        "customer's number, which must be the complaint's), web and chat: transcript_ref."
    )
    evidence_ref: str = Field(min_length=1, max_length=200)
    customer_words: str = Field(min_length=1, max_length=2000)


class AnswerPublic(BaseModel):
    inbound_id: str
    request_id: str | None
    verdict: str
    reason: str | None


class EmailWebhook(BaseModel):
    """An inbound mail as a provider posts it."""

    model_config = ConfigDict(populate_by_name=True)
    from_: str = Field(alias="from", max_length=320)
    to: str | None = Field(None, max_length=320)
    subject: str = Field("", max_length=2000)
    text: str = Field("", max_length=200_000)
    message_id: str | None = Field(None, max_length=300)
    auto_submitted: str | None = Field(None, max_length=100)
    # The provider's own checks: its DMARC verdict, and the headers that mark automatic mail
    # (Precedence, X-Autoreply, X-Autorespond, List-Id, List-Unsubscribe).
    dmarc: Literal["pass", "fail", "none"] | None = None
    headers: dict[str, str] = Field(default_factory=dict, max_length=50)


class AuditResult(BaseModel):
    model_config = ConfigDict(extra="forbid")
    outcome: Literal["passed", "failed"]
    notes: str | None = Field(None, max_length=4000)


class AuditPublic(BaseModel):
    id: str
    complaint_id: str
    request_id: str
    owner_id: str
    auditor_id: str
    attested: bool
    status: str = Field(description="open, passed or failed.")
    notes: str | None
    completed_by: str | None
    created_at: Utc
    completed_at: Utc | None
    due_at: Utc | None = Field(None, description="Escalated (`audit.overdue`) if open by then.")
    escalated_at: Utc | None = None
