"""Is this sender the customer? Addresses and numbers in the form intake stores them. No I/O."""

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from shared.events import Channel


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


def canonical_number(value: str, region: str = "US") -> str | None:
    """A phone number in E.164, as intake stores it; None when it is not a valid number."""
    try:
        number = phonenumbers.parse(value.strip(), region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def same_number(original: str, *candidates: str | None) -> bool:
    expected = canonical_number(original)
    if expected is None or not candidates:
        return False
    return all(c is not None and canonical_number(c) == expected for c in candidates)


def same_sender(channel: str, original: str, senders: tuple[str | None, ...]) -> bool:
    """Email and SMS name their sender; a link's possession is its own proof on web and chat."""
    if channel == Channel.sms:
        return same_number(original, *senders)
    if channel in (Channel.web, Channel.chat):
        return True
    return same_address(original, *senders)
