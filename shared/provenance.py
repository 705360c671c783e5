"""Why a consumer refuses a delivered event (None: it may be handled).

The broker guarantees that a message's `user_id` is the login that published it; this module
checks that this login owns the event's type and that the routing key is the type's own, so an
event cannot be smuggled under another service's name or routing key.
"""

from shared.events import Envelope
from shared.publishers import may_carry_suffix, owner_of


def refusal(user_id: str | None, routing_key: str | None, envelope: Envelope) -> str | None:
    owner = owner_of(envelope.type)
    if owner is None:
        return "unknown_type"
    if not user_id:
        return "no_publisher"
    if user_id != owner:
        return "publisher_not_owner"
    key = routing_key or ""
    if key != envelope.type and not (
        may_carry_suffix(envelope.type) and key.startswith(envelope.type + ".")
    ):
        return "routing_key_mismatch"
    return None
