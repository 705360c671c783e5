"""Intake rules: what a valid contact is on each channel, references and customer pseudonyms."""

import hashlib
import hmac
import re
import secrets

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from shared.events import Channel

PHONE_CHANNELS = {Channel.sms, Channel.phone}
REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


class InvalidContact(ValueError):
    pass


class InvalidLanguage(ValueError):
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


# BCP 47 well-formed tags: language (2-3 letters; no 4-8 letter one is registered), extlangs,
# script (4 letters), region (2 letters or 3 digits), variants and extensions.
_LANGUAGE_TAG = re.compile(
    r"^(?P<lang>[a-z]{2,3}(-[a-z]{3}){0,3})"
    r"(-(?P<script>[a-z]{4}))?"
    r"(-(?P<region>[a-z]{2}|[0-9]{3}))?"
    r"(-([a-z0-9]{5,8}|[0-9][a-z0-9]{3}))*"
    r"(-[0-9a-wyz](-[a-z0-9]{2,8})+)*"
    r"(-x(-[a-z0-9]{1,8})+)?$"
)


def normalise_language(value: str) -> str:
    """A BCP 47 tag in its conventional case ("zh-Hant-TW", "en"), or InvalidLanguage."""
    tag = value.strip().lower()
    match = _LANGUAGE_TAG.match(tag) if len(tag) <= 35 else None
    if match is None:
        raise InvalidLanguage(f"not a BCP 47 language tag: {value[:40]!r}")
    parts = tag.split("-")
    if match["script"]:
        parts[parts.index(match["script"])] = match["script"].title()
    if match["region"] and match["region"].isalpha():
        at = len(match["lang"].split("-")) + (1 if match["script"] else 0)
        parts[at] = parts[at].upper()
    return "-".join(parts)


def identifiers_of(
    *, external_id: str | None, email: str | None, phone: str | None, channel: Channel, contact: str
) -> list[tuple[str, str]]:
    """The (kind, value) pairs that name the customer of a complaint, strongest first.

    Emails compare in lower case, phones in E.164; the contact on a channel that is not an email
    or phone counts only when nothing else names the customer (as in the key's derivation).
    """
    found: list[tuple[str, str]] = []
    if external_id and external_id.strip():
        found.append(("ext", external_id.strip()))
    for address in (email, contact if channel == Channel.email else None):
        if address and ("email", address.lower()) not in found:
            found.append(("email", address.lower()))
    for number in (phone, contact if channel in PHONE_CHANNELS else None):
        if number and ("phone", number) not in found:
            found.append(("phone", number))
    return found or [("contact", contact.strip().lower())]
