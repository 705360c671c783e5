"""Confirmation rules: tokens, whose reply counts, and what a reply means. No I/O.

Only the customer's own answer, on the channel they complained on, closes a complaint; so a
reply counts only when it carries a live token of a request on that channel and comes from the
original address, and it reads as "yes" only when it says so without doubt or negation.
"""

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from services.confirmation.classifier import Verdict, classify_reply, doubts, meaning
from services.confirmation.sender_identity import (
    canonical_address,
    canonical_number,
    same_address,
    same_number,
    same_sender,
)
from shared.events import MESSAGE_CHANNELS, Channel

__all__ = [
    "MESSAGE_CHANNELS",
    "Verdict",
    "canonical_address",
    "canonical_number",
    "classify_reply",
    "doubts",
    "gate",
    "meaning",
    "same_address",
    "same_number",
]

# Channels answered through the confirmation page (a single-use link).
LINK_CHANNELS = frozenset({Channel.web, Channel.chat})
# Channels where the owner records what the customer said, with evidence.
ATTESTED_CHANNELS = frozenset({Channel.phone, Channel.walk_in, Channel.letter})
# What proves the customer said it, by the request's channel. On a message channel the owner
# attests only once the customer's own answer was unclear or never came, and the evidence is
# what that channel itself would show: the customer's email (its Message-ID) or their number.
EVIDENCE_TYPES = {
    Channel.phone: "call_reference",
    Channel.walk_in: "visit_note",
    Channel.letter: "letter_scan",
    Channel.email: "message_id",
    Channel.sms: "sender_number",
    Channel.web: "transcript_ref",
    Channel.chat: "transcript_ref",
}
_MESSAGE_ID = re.compile(r"^<?[^<>@\s]+@[^<>@\s]+>?$")

TOKEN_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: easy to copy by hand
TOKEN_LENGTH = 14  # 14 symbols x 5 bits = 70 bits of randomness
TOKEN_PATTERN = re.compile(rf"#([{TOKEN_ALPHABET}]{{{TOKEN_LENGTH}}})(?![A-Z0-9])", re.IGNORECASE)
SMS_TOKEN_LENGTH = 6  # fits a text message; the sender's number is checked as well
SMS_TOKEN_PATTERN = re.compile(
    rf"#([{TOKEN_ALPHABET}]{{{SMS_TOKEN_LENGTH}}})(?![A-Z0-9])", re.IGNORECASE
)
_SUBJECT_CLAIM = re.compile(r"\[[^\[\]]*#([A-Za-z0-9]{1,64})\s*\]")
EVIDENCE_LIMIT = 2000


class Status(StrEnum):
    pending = "pending"
    awaiting_channel = "awaiting_channel"
    confirmed = "confirmed"
    rejected = "rejected"
    unclear = "unclear"  # a page's answer that needs the owner; its link is spent
    superseded = "superseded"
    closed = "closed"


OPEN_STATUSES = (Status.pending, Status.awaiting_channel, Status.unclear)


class Reason(StrEnum):
    unknown_token = "unknown_token"
    token_used = "token_used"
    sender_mismatch = "sender_mismatch"
    wrong_channel = "wrong_channel"
    auto_reply = "auto_reply"
    token_expired = "token_expired"
    missing_signature = "missing_signature"
    bad_signature = "bad_signature"
    stale_timestamp = "stale_timestamp"
    replayed = "replayed"
    not_owner = "not_owner"
    evidence_mismatch = "evidence_mismatch"
    # Inbound mail refused before it is read (size, parts, depth, time) or not authenticated.
    mail_too_large = "mail_too_large"
    too_many_parts = "too_many_parts"
    too_deep = "too_deep"
    parse_timeout = "parse_timeout"
    dmarc_not_passed = "dmarc_not_passed"


ANSWER_EVENT = {
    Verdict.yes: "confirmation.confirmed",
    Verdict.no: "confirmation.rejected",
    Verdict.unclear: "confirmation.unclear",
}
ANSWER_STATUS = {Verdict.yes: Status.confirmed, Verdict.no: Status.rejected}


def new_token(length: int = TOKEN_LENGTH) -> str:
    return "".join(secrets.choice(TOKEN_ALPHABET) for _ in range(length))


def token_for(channel: Channel) -> str:
    """A text message has little room: its code is short, and the number is checked too."""
    return new_token(SMS_TOKEN_LENGTH if channel == Channel.sms else TOKEN_LENGTH)


def find_sms_token(text: str) -> str | None:
    match = SMS_TOKEN_PATTERN.search(text) or TOKEN_PATTERN.search(text)
    return match.group(1).upper() if match else None


def hash_token(token: str, secret: str) -> str:
    """Keyed, so the stored hash of a 6-symbol SMS code cannot be searched offline."""
    return hmac.new(secret.encode(), token.upper().encode(), hashlib.sha256).hexdigest()


def legacy_hash(token: str) -> str:
    """The unkeyed hash of tokens issued before hashes were keyed (rows marked legacy)."""
    return hashlib.sha256(token.upper().encode()).hexdigest()


def visitor_hash(value: str, secret: str) -> str:
    """Who opened a page, kept comparable (same visitor, same hash) but never in clear."""
    return hmac.new(secret.encode(), value.encode("utf-8", "replace"), hashlib.sha256).hexdigest()


def find_token(subject: str, body: str) -> str | None:
    """The token a reply claims: the subject's, else the first in the body (quotes included).

    A subject whose `[... #X]` block holds something that is not a token claims X all the
    same: a valid token quoted further down must not stand in for what the sender wrote.
    """
    for pattern in (TOKEN_PATTERN, _SUBJECT_CLAIM):
        match = pattern.search(subject)
        if match:
            return match.group(1).upper()
    match = TOKEN_PATTERN.search(body)
    return match.group(1).upper() if match else None


REFERENCE_PATTERN = re.compile(r"\bCMP-[A-Z0-9]{8}\b")


def find_reference(subject: str, body: str) -> str | None:
    """The reference a reply mentions, so a refused reply is still shown to the owner."""
    match = REFERENCE_PATTERN.search(subject) or REFERENCE_PATTERN.search(body)
    return match.group(0) if match else None


_LINK_TOKEN = re.compile(r"/c/[A-Za-z0-9]{1,64}")
SENT_MARK = "#\u2026"  # what a sent message keeps where its token was


def redact_tokens(text: str) -> str:
    """Whoever reads stored messages must not be able to answer in the customer's place."""
    return SMS_TOKEN_PATTERN.sub("#[token]", TOKEN_PATTERN.sub("#[token]", text))


def scrub_token(text: str, token: str | None) -> str:
    """A message once sent keeps its words for the timeline, but not the token it carried."""
    if token:
        text = re.sub(re.escape(token), "\u2026", text, flags=re.IGNORECASE)
    text = _LINK_TOKEN.sub("/c/\u2026", text)
    return SMS_TOKEN_PATTERN.sub(SENT_MARK, TOKEN_PATTERN.sub(SENT_MARK, text))


@dataclass(frozen=True)
class RequestFacts:
    status: str
    channel: str
    contact: str
    expires_at: datetime | None = None
    outcome: str = "resolved"
    # The customer's answer was unclear or never came: the owner must follow it up.
    needs_owner: bool = False


def refusal(
    request: RequestFacts | None,
    channel: Channel,
    senders: tuple[str | None, ...],
    automatic: bool = False,
    now: datetime | None = None,
) -> Reason | None:
    """Why a reply cannot count as the customer's answer, or None when it can."""
    if request is None:
        return Reason.unknown_token
    if request.channel != channel or channel in ATTESTED_CHANNELS:
        return Reason.wrong_channel
    if request.status != Status.pending:
        return Reason.token_used
    if request.expires_at is not None and now is not None and now >= request.expires_at:
        return Reason.token_expired
    if automatic:
        return Reason.auto_reply
    if not same_sender(request.channel, request.contact, senders):
        return Reason.sender_mismatch
    return None


def attestation_refusal(
    request: RequestFacts,
    owner_id: str,
    attester: str,
    evidence_type: str | None,
    evidence_ref: str | None = None,
) -> Reason | None:
    """Why the attester may not record this answer: only the current owner, in person or once
    the customer's own answer on a message channel was unclear or missing, with the evidence
    of the request's channel."""
    channel = Channel(request.channel)
    in_person = channel in ATTESTED_CHANNELS
    if not in_person and not request.needs_owner:
        return Reason.wrong_channel
    if attester != owner_id:
        return Reason.not_owner
    # A spent link's request is `unclear`: the owner's attestation is what answers it now.
    answerable = (Status.pending,) if in_person else (Status.pending, Status.unclear)
    if request.status not in answerable:
        return Reason.token_used
    if EVIDENCE_TYPES[channel] != evidence_type:
        return Reason.evidence_mismatch
    if channel == Channel.email and not _MESSAGE_ID.match(evidence_ref or ""):
        return Reason.evidence_mismatch
    if channel == Channel.sms and not same_number(request.contact, evidence_ref):
        return Reason.sender_mismatch
    return None


def evidence(text: str) -> str:
    return redact_tokens(text).strip()[:EVIDENCE_LIMIT]


def gate(
    request: RequestFacts | None,
    channel: Channel,
    senders: tuple[str | None, ...],
    text: str,
    *,
    automatic: bool = False,
    now: datetime | None = None,
    transport: Reason | None = None,
    choice: Verdict | None = None,
) -> tuple[Verdict, Reason | None]:
    """The whole decision on one inbound message: refused with a reason, or what it means.

    Only an unrefused message can be a yes, and only `ANSWER_STATUS` moves a request on.
    """
    reason = transport or refusal(request, channel, senders, automatic, now)
    if reason is not None or request is None:
        return Verdict.rejected, reason or Reason.unknown_token
    acknowledging = request.outcome == "cannot_fulfil"
    return meaning(text, choice, acknowledging), None
