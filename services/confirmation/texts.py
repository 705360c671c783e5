"""What the customer reads in English: SMS, the web/chat link message, acknowledgements. No I/O.

A text message has little room: the summary is shortened, the code is short, and the customer
may answer with a bare YES or NO because the sender's number is checked as well.
"""

from datetime import UTC, datetime

CANNOT_FULFIL = "cannot_fulfil"
SMS_SUMMARY_LIMIT = 300


def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"


def sms_text(reference: str, token: str, outcome: str, summary: str, reminder: int = 0) -> str:
    lead = f"Reminder {reminder}: " if reminder else ""
    summary = _shorten(summary, SMS_SUMMARY_LIMIT)
    if outcome == CANNOT_FULFIL:
        return (
            f"{lead}Complaint {reference}: sorry, we cannot do what you asked. {summary} "
            f"Reply YES #{token} to acknowledge, or NO #{token} if you do not accept it."
        )
    return (
        f"{lead}Complaint {reference}: {summary} Is it resolved? "
        f"Reply YES #{token} or NO #{token}. It stays open until you answer."
    )


def link_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/c/{token}"


def link_text(reference: str, url: str, outcome: str, reminder: int = 0) -> str:
    lead = f"Reminder {reminder}: " if reminder else ""
    if outcome == CANNOT_FULFIL:
        return (
            f"{lead}About your complaint {reference}: we cannot do what you asked. Please read "
            f"why and acknowledge it here: {url}"
        )
    return f"{lead}Is your complaint {reference} resolved? Please tell us here: {url}"


def reminder_subject(reference: str, token: str) -> str:
    return f"Reminder: is your complaint {reference} resolved? [ref {reference} #{token}]"


def due_text(due_at: datetime | None) -> str:
    return "" if due_at is None else f"{due_at.astimezone(UTC):%d %B %Y, %H:%M} UTC"


def acknowledgement_subject(reference: str) -> str:
    """Carries the reference for a reply to be attributed, and no token: it asks nothing."""
    return f"We have received your complaint {reference} [ref {reference}]"


def acknowledgement_body(reference: str, team: str, due_at: datetime | None) -> str:
    expected = [f"We aim to have a resolution for you by {due_text(due_at)}.", ""] if due_at else []
    return "\n".join(
        [
            "Hello,",
            "",
            f"Thank you for telling us. Your complaint is registered under reference {reference}.",
            "",
            f"It is with our {team} team now: one person there is responsible for it from",
            "now until it is resolved, and you will not need to tell your story again.",
            "",
            *expected,
            "When we have a resolution we will write to you here and ask whether it solves",
            "your problem. Your complaint stays open until you tell us it is resolved.",
            "",
            "Please quote the reference whenever you contact us about it.",
            "",
            f"Reference: {reference}",
            "",
        ]
    )


def acknowledgement_text(reference: str, team: str, due_at: datetime | None) -> str:
    """SMS, web and chat: the same news in a few words."""
    expected = f" We aim to resolve it by {due_text(due_at)}." if due_at else ""
    return (
        f"We have received your complaint {reference}. Our {team} team owns it until it is "
        f"resolved.{expected} We will ask you before we close it."
    )


FINAL_OUTCOMES = {
    "upheld": "we uphold your complaint",
    "partially_upheld": "we uphold your complaint in part",
    "not_upheld": "we do not uphold your complaint",
}


def final_response_subject(reference: str) -> str:
    """The reference for a reply to be attributed, no token: it asks nothing."""
    return f"Our final response to your complaint {reference} [ref {reference}]"


def final_response_body(reference: str, outcome: str, reasons: str, referral: str) -> str:
    return "\n".join(
        [
            "Hello,",
            "",
            f"This is our final response to your complaint {reference}: {FINAL_OUTCOMES[outcome]}.",
            "",
            reasons.strip(),
            "",
            referral.strip(),
            "",
            f"Reference: {reference}",
            "",
        ]
    )


MESSAGE_TEMPLATES = {
    "update": "We are working on your complaint and wanted to tell you where it stands.",
    "need_information": "To go on with your complaint we need something from you: please "
    "reply to this message with what we ask below.",
    "delay": "Your complaint is taking longer than we told you, and we are sorry for that. "
    "It is still with the same person, and we will write again when we have news.",
}


def message_subject(reference: str) -> str:
    return f"About your complaint {reference} [ref {reference}]"


def message_body(reference: str, template: str | None, text: str | None, short: bool) -> str:
    """The owner's message: the template's sentence, then their own words; no token, as it
    asks no question that closes anything (a reply joins the complaint)."""
    said = [part.strip() for part in (MESSAGE_TEMPLATES.get(template or ""), text) if part]
    if short:
        return f"{reference}: " + " ".join(said)
    return "\n".join(
        ["Hello,", "", *[p for part in said for p in (part, "")], f"Reference: {reference}", ""]
    )


def survey_subject(reference: str) -> str:
    return f"How did we do with your complaint {reference}? [ref {reference}]"


def survey_body(reference: str, short: bool) -> str:
    """One question, answered by a number; it asks nothing that changes the closed complaint."""
    if short:
        return (
            f"{reference} is closed. How did we do? Reply with a number from 1 (poor) to "
            "5 (excellent), and a comment if you like."
        )
    return "\n".join(
        [
            "Hello,",
            "",
            f"Thank you for confirming that your complaint {reference} is resolved.",
            "",
            "How did we do? Reply to this message with a number from 1 (poor) to 5 (excellent),",
            "and a few words if you like. It does not change your complaint in any way.",
            "",
            f"Reference: {reference}",
            "",
        ]
    )
