"""Confirmation rules: tokens, whose reply counts, and what a reply means. No I/O.

Only the customer's own answer, on the channel they complained on, closes a complaint; so a
reply counts only when it carries a live token of a request on that channel and comes from the
original address, and it reads as "yes" only when it says so without doubt or negation.
"""

import hashlib
import re
import secrets
from dataclasses import dataclass
from enum import StrEnum

from email_validator import EmailNotValidError, validate_email

from shared.events import Channel

# The channels whose confirmation requests this service delivers itself today.
DELIVERED_CHANNELS = {Channel.email}

TOKEN_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: easy to copy by hand
TOKEN_LENGTH = 14  # 14 symbols x 5 bits = 70 bits of randomness
TOKEN_PATTERN = re.compile(rf"#([{TOKEN_ALPHABET}]{{{TOKEN_LENGTH}}})(?![A-Z0-9])", re.IGNORECASE)
_SUBJECT_CLAIM = re.compile(r"\[[^\[\]]*#([A-Za-z0-9]{1,64})\s*\]")
EVIDENCE_LIMIT = 2000


class Status(StrEnum):
    pending = "pending"
    awaiting_channel = "awaiting_channel"
    confirmed = "confirmed"
    rejected = "rejected"
    superseded = "superseded"
    closed = "closed"


OPEN_STATUSES = (Status.pending, Status.awaiting_channel)


class Verdict(StrEnum):
    yes = "yes"
    no = "no"
    unclear = "unclear"
    rejected = "rejected"  # the message was not accepted as an answer; `reason` says why


class Reason(StrEnum):
    unknown_token = "unknown_token"
    token_used = "token_used"
    sender_mismatch = "sender_mismatch"
    wrong_channel = "wrong_channel"
    auto_reply = "auto_reply"


ANSWER_EVENT = {
    Verdict.yes: "confirmation.confirmed",
    Verdict.no: "confirmation.rejected",
    Verdict.unclear: "confirmation.unclear",
}
ANSWER_STATUS = {Verdict.yes: Status.confirmed, Verdict.no: Status.rejected}


def status_for_new_request(channel: Channel) -> Status:
    return Status.pending if channel in DELIVERED_CHANNELS else Status.awaiting_channel


def new_token() -> str:
    return "".join(secrets.choice(TOKEN_ALPHABET) for _ in range(TOKEN_LENGTH))


def hash_token(token: str) -> str:
    return hashlib.sha256(token.upper().encode()).hexdigest()


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


def redact_tokens(text: str) -> str:
    """Whoever reads stored messages must not be able to answer in the customer's place."""
    return TOKEN_PATTERN.sub("#[token]", text)


def canonical_address(address: str) -> str | None:
    """An email address in the form intake stores, compared case-insensitively; None if invalid.

    Case is ignored in the local part too: providers treat it so, and the token, not the
    spelling of the address, is what proves the reply is the customer's.
    """
    try:
        return validate_email(address.strip(), check_deliverability=False).normalized.casefold()
    except (EmailNotValidError, ValueError):
        return None


def same_address(original: str, *candidates: str | None) -> bool:
    """Every given candidate is the original address (a missing one counts as a mismatch)."""
    expected = canonical_address(original)
    if expected is None or not candidates:
        return False
    return all(c is not None and canonical_address(c) == expected for c in candidates)


@dataclass(frozen=True)
class RequestFacts:
    status: str
    channel: str
    contact: str


def refusal(
    request: RequestFacts | None,
    channel: Channel,
    senders: tuple[str | None, ...],
    automatic: bool = False,
) -> Reason | None:
    """Why a reply cannot count as the customer's answer, or None when it can."""
    if request is None:
        return Reason.unknown_token
    if request.channel != channel:
        return Reason.wrong_channel
    if request.status != Status.pending:
        return Reason.token_used
    if automatic:
        return Reason.auto_reply
    if not same_address(request.contact, *senders):
        return Reason.sender_mismatch
    return None


def evidence(text: str) -> str:
    return redact_tokens(text).strip()[:EVIDENCE_LIMIT]


# --- What a reply means --------------------------------------------------------------------

_POSITIVE_EN = r"(?:resolved|fixed|sorted|solved|good|fine|working|ok|okay)"
_NEGATOR_EN = (
    r"(?:not|never|no|no longer|nothing|"
    r"(?:is|was|are|were|has|have|had|did|does|do|ca|wo|could|should|would)n'?t|cannot)"
)
# A negator followed within three words by a positive word: "not resolved", "no, not sorted".
_NEGATED_EN = re.compile(rf"\b{_NEGATOR_EN}\b(?:\W+\w+){{0,3}}?\W+{_POSITIVE_EN}\b")
_NEGATED_ZH = re.compile(
    r"(?:还没有|還沒有|还没|還沒|没有|沒有|并未|並未|没|沒|未|不)"
    r"[^\uff0c。,.!\uff01?\uff1f\s]{0,3}?"
    r"(?:解决|解決|好|修复|修復|处理|處理)"
)
# Idioms that contain a negation but deny nothing about the outcome.
_IDIOMS = re.compile(r"\bno (?:problems?|worries)\b|没问题|沒問題|没关系|沒關係")
_UNSURE = re.compile(
    r"\b(?:not sure|unsure|maybe|perhaps|partly|partially|kind of|sort of|i think|"
    r"i guess|don'?t know|not really|yes and no)\b"
    r"|不确定|不確定|可能|也许|也許|不知道|部分|一部分|差不多"
)
_YES_EN = re.compile(r"\b(?:yes|yeah|yep|yup|resolved|fixed|sorted|solved|all good|all sorted)\b")
_YES_ZH = re.compile(
    r"已解决|已經解決|已经解决|已解決|解决了|解決了|好了|^是的?(?:$|[\uff0c。,.!\uff01\s])"
)
_NO_EN = re.compile(rf"\b(?:{_NEGATOR_EN}|nope|still|unresolved|broken|haven'?t received|wrong)\b")
_NO_ZH = re.compile(r"否|没|沒|未|不")


def classify_reply(text: str) -> Verdict:
    """Yes, no or unclear. Never guesses yes: any doubt, question or negation prevents it."""
    clean = re.sub(r"\s+", " ", text.replace("\u2019", "'").casefold()).strip()
    if not clean or _UNSURE.search(clean):
        return Verdict.unclear
    asks = any(mark in clean for mark in ("?", "\uff1f", "吗", "嗎"))  # a question is no answer
    clean = _IDIOMS.sub(" ", clean)
    negated = bool(_NEGATED_EN.search(clean) or _NEGATED_ZH.search(clean))
    rest = _NEGATED_ZH.sub(" ", _NEGATED_EN.sub(" ", clean)).strip()
    says_yes = bool(_YES_EN.search(rest) or _YES_ZH.search(rest))
    says_no = negated or bool(_NO_EN.search(rest) or _NO_ZH.search(rest))
    if says_yes and not says_no and not asks:
        return Verdict.yes
    if says_no and not says_yes:
        return Verdict.no
    return Verdict.unclear
