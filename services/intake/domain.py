"""Intake rules: what a valid contact is on each channel, references and customer pseudonyms."""

import hashlib
import hmac
import secrets

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from shared.events import Channel

PHONE_CHANNELS = {Channel.sms, Channel.phone}
REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


class InvalidContact(ValueError):
    pass


def normalise_email(value: str) -> str:
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise InvalidContact(f"not an email address: {exc}") from exc


def normalise_phone(value: str, default_region: str = "US") -> str:
    """E.164 form of a phone number, so that the same number always compares equal."""
    try:
        number = phonenumbers.parse(value, default_region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidContact(f"not a phone number: {exc}") from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidContact("not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_contact(channel: Channel, contact: str, default_region: str = "US") -> str:
    """The address on `channel` at which the customer is answered, in canonical form."""
    contact = contact.strip()
    if not contact:
        raise InvalidContact("a contact is required")
    if channel == Channel.email:
        return normalise_email(contact)
    if channel in PHONE_CHANNELS:
        return normalise_phone(contact, default_region)
    return contact


def new_reference() -> str:
    return "CMP-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))


def customer_key(
    secret: str, *, external_id: str | None, email: str | None, phone: str | None, contact: str
) -> str:
    """A keyed pseudonym: stable for one customer, meaningless without the intake secret."""
    identity = (
        f"ext:{external_id}"
        if external_id
        else f"email:{email.lower()}"
        if email
        else f"phone:{phone}"
        if phone
        else f"contact:{contact.lower()}"
    )
    return hmac.new(secret.encode(), identity.encode(), hashlib.sha256).hexdigest()
