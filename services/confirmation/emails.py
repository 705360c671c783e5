"""The confirmation email we write and the replies we read, as stdlib email messages. No I/O."""

import email
import email.policy
import email.utils
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


def wire_bytes(message: EmailMessage) -> tuple[bytes, bool]:
    """The message as sent, and whether it needs SMTPUTF8 (an internationalised address).

    Header lines may run to RFC 5322's 998 characters: the stdlib would otherwise fold the
    subject onto a continuation line, and some readers then show it with a leading space.
    """
    utf8 = not all(str(value).isascii() for value in message.values())
    policy = email.policy.SMTPUTF8 if utf8 else email.policy.SMTP
    return message.as_bytes(policy=policy.clone(max_line_length=998)), utf8


@dataclass(frozen=True)
class ParsedReply:
    sender: str | None
    subject: str
    body: str  # the whole text, quotes included: a token may only survive in the quote
    new_text: str
    message_id: str | None
    automatic: bool


def parse_reply(raw: bytes) -> ParsedReply:
    """Read a raw RFC 5322 message; never raises on malformed input."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    body = _text_of(message)
    return ParsedReply(
        sender=_from_address(message),
        subject=_header(message, "Subject"),
        body=body,
        new_text=new_text(body),
        message_id=_header(message, "Message-ID") or None,
        automatic=_header(message, "Auto-Submitted").lower() not in ("", "no"),
    )


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
