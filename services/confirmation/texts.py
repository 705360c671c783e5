"""What the customer reads on SMS and on the web/chat link message. No I/O.

A text message has little room: the summary is shortened, the code is short, and the customer
may answer with a bare YES or NO because the sender's number is checked as well.
"""

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
