"""Signed webhooks: HMAC-SHA256 over "<timestamp>.<raw body>", fresh, and used only once. No I/O.

Providers (the SMS gateway, an inbound-mail provider) sign each call with a shared secret; the
timestamp bounds how long a captured call stays useful, and the stored signature (see
answers.py) makes it useless once accepted.
"""

import hmac
from datetime import datetime

from services.confirmation.domain import Reason
from shared.sending import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign

__all__ = ["SIGNATURE_HEADER", "TIMESTAMP_HEADER", "check", "sign"]


def check(
    secret: str,
    signature: str | None,
    timestamp: str | None,
    body: bytes,
    now: datetime,
    max_age_seconds: int,
) -> Reason | None:
    """Why the call cannot be trusted, or None when it is signed, fresh and correct."""
    if not signature or not timestamp:
        return Reason.missing_signature
    expected = sign(secret, timestamp, body)
    if not hmac.compare_digest(expected, signature.strip().lower()):
        return Reason.bad_signature
    try:
        sent = int(timestamp)
    except ValueError:
        return Reason.bad_signature
    # A clock a little ahead at the provider is tolerated by the same margin as one behind.
    if abs(now.timestamp() - sent) > max_age_seconds:
        return Reason.stale_timestamp
    return None
