"""The confirmation email we write and the replies we read, as stdlib email messages. No I/O."""

import email
import email.policy
import email.utils
import re
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage

from services.confirmation.replytext import html_to_text, new_text

CANNOT_FULFIL = "cannot_fulfil"


def subject_line(reference: str, token: str) -> str:
    return f"Is your complaint {reference} resolved? [ref {reference} #{token}]"


def body_text(reference: str, token: str, outcome: str, summary: str) -> str:
    if outcome == CANNOT_FULFIL:
        opening = (
            f"About your complaint {reference}: we are sorry, but we cannot do what you "
            "asked. This is why:"
        )
        question = "Please tell us that you have read this answer:"
        yes = "Reply YES to acknowledge it."
        no = "Reply NO if you do not accept it, and tell us why."
        open_until = "Your complaint stays open until you answer."
    else:
        opening = f"We believe your complaint {reference} is resolved. This is what we did:"
        question = "Is your complaint resolved?"
        yes = "Reply YES if it is resolved."
        no = "Reply NO if it is not, and tell us what is still wrong."
        open_until = "Your complaint stays open until you tell us it is resolved."
    return "\n".join(
        [
            "Hello,",
            "",
            opening,
            "",
            summary.strip(),
            "",
            question,
            f"  * {yes}",
            f"  * {no}",
            "",
            "Please answer by replying to this email and keep the subject line as it is: it",
            "carries your reference and a code that tells us the answer comes from you.",
            open_until,
            "",
            f"Reference: {reference} #{token}",
            "",
        ]
    )


def address_of(mailbox: str) -> str:
    """`confirm@x` of `Complaints <confirm@x>`."""
    return email.utils.parseaddr(mailbox)[1]


def new_message_id(sender: str) -> str:
    return email.utils.make_msgid(domain=address_of(sender).rpartition("@")[2] or "localhost")


def build_message(
    *, sender: str, reply_to: str, recipient: str, subject: str, body: str, message_id: str
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Reply-To"] = reply_to
    message["Subject"] = subject
    message["Message-ID"] = message_id
    message["Date"] = email.utils.formatdate(localtime=False, usegmt=True)
    # Asks out-of-office robots not to answer in the customer's place (RFC 3834).
    message["Auto-Submitted"] = "auto-generated"
    # Quoted-printable keeps a non-English summary 7-bit clean for relays without 8BITMIME.
    message.set_content(body, cte=None if body.isascii() else "quoted-printable")
    return message


_ADDRESS_HEADERS = ("From", "To", "Reply-To", "Message-ID")


def wire_bytes(message: EmailMessage) -> tuple[bytes, bool]:
    """The message as sent, and whether it needs SMTPUTF8 (an internationalised address).

    Header lines may run to RFC 5322's 998 characters: the stdlib would otherwise fold the
    subject onto a continuation line, and some readers then show it with a leading space. A
    subject in Chinese is written as RFC 2047 encoded words, which every server relays; only an
    address outside ASCII needs a server that speaks SMTPUTF8.
    """
    utf8 = not all(str(message[name] or "").isascii() for name in _ADDRESS_HEADERS)
    policy = email.policy.SMTPUTF8 if utf8 else email.policy.SMTP
    return message.as_bytes(policy=policy.clone(max_line_length=998)), utf8


@dataclass(frozen=True)
class MailLimits:
    max_bytes: int = 10 * 1024 * 1024
    max_parts: int = 100
    max_depth: int = 8
    trusted_authserv_id: str = ""  # whose Authentication-Results count; empty: nobody's


@dataclass(frozen=True)
class ParsedReply:
    sender: str | None
    subject: str
    body: str  # the whole text, quotes included: a token may only survive in the quote
    new_text: str
    message_id: str | None
    automatic: bool
    automatic_rule: str | None = None  # which header or subject made it automatic
    dmarc: str | None = None  # the trusted host's DMARC result; None when it gave none
    refused: str | None = None  # a limit the mail broke: mail_too_large, too_many_parts, too_deep
    sender_name: str | None = None  # the From header's display name ("Ana Lima")


def parse_reply(raw: bytes, limits: MailLimits | None = None) -> ParsedReply:
    """Read a raw RFC 5322 message within `limits`; never raises on malformed input.

    A mail over the limits is not MIME-parsed at all (only its header block is read, to show
    whom it claims to be from): parsing is what costs, and it grows with the parts.
    """
    limits = limits or MailLimits()
    refused = _over_limits_before_parsing(raw, limits)
    if refused is not None:
        return headers_only(raw, limits, refused)
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    refused = _over_limits_after_parsing(message, limits)
    if refused is not None:
        return headers_only(raw, limits, refused)
    body = _text_of(message)
    subject = _header(message, "Subject")
    rule = automatic_rule(lambda name: _header(message, name), subject)
    return ParsedReply(
        sender=_from_address(message),
        sender_name=_from_name(message),
        subject=subject,
        body=body,
        new_text=new_text(body),
        message_id=_header(message, "Message-ID") or None,
        automatic=rule is not None,
        automatic_rule=rule,
        dmarc=dmarc_result(_all_headers(message, "Authentication-Results"), limits),
    )


def _over_limits_before_parsing(raw: bytes, limits: MailLimits) -> str | None:
    if len(raw) > limits.max_bytes:
        return "mail_too_large"
    # Every MIME part opens with a "--boundary" line, so these lines bound the parts from
    # above; a mail with more of them than twice the limit cannot be within it.
    if raw.count(b"\n--") > 2 * limits.max_parts + 2:
        return "too_many_parts"
    return None


def _over_limits_after_parsing(message: EmailMessage, limits: MailLimits) -> str | None:
    parts, stack = 0, [(message, 1)]  # the part and its depth; a loop, not recursion
    while stack:
        part, depth = stack.pop()
        parts += 1
        if parts > limits.max_parts:
            return "too_many_parts"
        if depth > limits.max_depth:
            return "too_deep"
        if part.is_multipart():
            payload = part.get_payload()
            if isinstance(payload, list):
                stack.extend((c, depth + 1) for c in payload if isinstance(c, EmailMessage))
    return None


def headers_only(raw: bytes, limits: MailLimits, refused: str) -> ParsedReply:
    """A refused mail's header block only (its first 64 KB), to show whom it claims to be."""
    head = raw[: min(len(raw), 64 * 1024)].split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    message = email.message_from_bytes(head, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return ParsedReply(
        sender=_from_address(message),
        subject=_header(message, "Subject"),
        body="",
        new_text="",
        message_id=_header(message, "Message-ID") or None,
        automatic=False,
        dmarc=dmarc_result(_all_headers(message, "Authentication-Results"), limits),
        refused=refused,
    )


AUTOMATIC_PRECEDENCE = frozenset({"auto_reply", "bulk", "junk", "list"})
# Subjects that out-of-office robots write, compared case-folded as plain substrings.
AUTOMATIC_SUBJECTS = (
    "out of office",
    "out-of-office",
    "automatic reply",
    "auto reply",
    "auto-reply",
    "autoreply",
    "自动回复",
    "休假",
)


def automatic_rule(header: Callable[[str], str], subject: str) -> str | None:
    """Which sign marks a mail as written by a machine (RFC 3834 and common practice), if any."""
    if header("Auto-Submitted").strip().lower() not in ("", "no"):
        return "auto_submitted"
    if header("Precedence").strip().lower() in AUTOMATIC_PRECEDENCE:
        return "precedence"
    if header("X-Autoreply").strip() or header("X-Autorespond").strip():
        return "x_autoreply"
    if header("List-Id").strip() or header("List-Unsubscribe").strip():
        return "mailing_list"
    folded = subject.casefold()
    if any(marker in folded for marker in AUTOMATIC_SUBJECTS):
        return "out_of_office_subject"
    return None


_DMARC = re.compile(r"(?:^|[\s;])dmarc\s*=\s*([a-z]{1,20})")


def dmarc_result(values: list[str], limits: MailLimits) -> str | None:
    """The DMARC result of the first Authentication-Results header the trusted host wrote.

    Anyone can write an Authentication-Results header into a mail; only the one whose
    authserv-id (RFC 8601: the first token) is our own receiving host's is believed.
    """
    trusted = limits.trusted_authserv_id.strip().lower()
    if not trusted:
        return None
    for value in values:
        authserv_id, _, results = value.strip().partition(";")
        if authserv_id.lower().split(maxsplit=1)[:1] != [trusted]:
            continue
        match = _DMARC.search(results.lower())
        return match.group(1) if match else "none"
    return None


def _all_headers(message: EmailMessage, name: str) -> list[str]:
    try:
        return [str(value) for value in message.get_all(name, [])]
    except (ValueError, TypeError, IndexError):
        return []


def _header(message: EmailMessage, name: str) -> str:
    try:
        return str(message.get(name, "") or "").strip()
    except (ValueError, TypeError, IndexError):
        return ""


def _from_address(message: EmailMessage) -> str | None:
    try:
        header = message.get("From")
        addresses = getattr(header, "addresses", ())
        return str(addresses[0].addr_spec) if addresses else None
    except (ValueError, TypeError, IndexError):
        return None


def _from_name(message: EmailMessage) -> str | None:
    try:
        addresses = getattr(message.get("From"), "addresses", ())
        name = " ".join(str(addresses[0].display_name).split())[:200] if addresses else ""
        return name or None
    except (ValueError, TypeError, IndexError):
        return None


def _text_of(message: EmailMessage) -> str:
    try:
        part = message.get_body(preferencelist=("plain", "html"))
        if part is None:
            return ""
        content = part.get_content()
    except (LookupError, ValueError, TypeError, KeyError):
        return ""
    if not isinstance(content, str):
        return ""
    return html_to_text(content) if part.get_content_subtype() == "html" else content
