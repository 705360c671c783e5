"""A reply that answers no question is still the customer speaking: it goes to the owner.

A customer answers the acknowledgement ("also, the card was charged a third time"), writes
again on a thread whose link was spent, or after its token expired. Such a reply closes and
reopens nothing, but it must not be kept where nobody looks: when it comes from the complaint's
own address or number, on the channel the customer complained on, it is announced as
`customer.message_received` and ownership puts it on the case's timeline as a follow-up
contact. Automatic replies, attestations and replies refused by their transport (a bad
signature, a replay, mail that failed DMARC, another sender) are not.
"""

from typing import Any

from sqlalchemy import Row, func, select, update

from services.confirmation import domain, reply_matching, surveys
from services.confirmation.domain import Reason
from services.confirmation.models import complaints, inbound_messages
from shared.events import Channel, CustomerMessageReceived, new_event
from shared.uow import UnitOfWork

PRODUCER = "confirmation"
# A reply that did not count for one of these reasons is the customer's word on the case.
ANSWERED_NOTHING = frozenset({Reason.unknown_token, Reason.token_used, Reason.token_expired})
# The channels whose sender is its own proof (an authenticated address, the gateway's number).
SENDER_CHANNELS = frozenset({Channel.email, Channel.sms})
TEXT_LIMIT = 5_000


async def pass_on(
    uow: UnitOfWork, reply: Any, request: Row[Any] | None, reason: Reason | None, inbound_id: str
) -> str | None:
    """Announce the reply as the customer's message when it is one; the complaint it joined."""
    if reason not in ANSWERED_NOTHING or reply.automatic or reply.attested:
        return None
    if reply.channel not in SENDER_CHANNELS or reply.dmarc == "fail":
        # An address is its own proof only when nothing says it was forged (in production
        # DMARC is required and a failing mail is refused before it gets here).
        return None
    text = domain.redact_tokens(reply.new_text).strip()[:TEXT_LIMIT]
    if not text:
        return None
    complaint = await _complaint_of(uow, reply, request)
    if complaint is None:
        return None
    await uow.conn.execute(
        update(inbound_messages)
        .where(inbound_messages.c.id == inbound_id)
        .values(complaint_id=complaint.id)
    )
    if await surveys.take_answer(uow, complaint, reply, text, inbound_id):
        return str(complaint.id)  # the answer to "how did we do?", not a message
    data = CustomerMessageReceived(
        inbound_id=inbound_id,
        channel=reply.channel,
        text=text,
        received_at=reply.received_at,
        reason=reason.value,
    )
    uow.emit(
        new_event("customer.message_received", data, producer=PRODUCER, complaint_id=complaint.id)
    )
    return str(complaint.id)


async def _complaint_of(uow: UnitOfWork, reply: Any, request: Row[Any] | None) -> Row[Any] | None:
    """The request's complaint, else the one whose reference it quotes, else (quoting none) the
    sender's latest on this channel; in every case only if it comes from that complaint's
    contact. A reference nobody knows names no complaint: it is not guessed."""
    complaint_id = None
    if request is not None:
        complaint_id = request.complaint_id
    elif domain.find_reference(reply.subject, reply.body) is not None:
        complaint_id = await reply_matching.mentioned_complaint(uow, reply)
        if complaint_id is None:
            return None
    if complaint_id is not None:
        query = select(complaints).where(complaints.c.id == complaint_id)
        found = (await uow.conn.execute(query)).first()
        return found if found is not None and _from_its_customer(found, reply) else None
    contact = _canonical(reply.channel, reply.sender or "")
    if contact is None:
        return None
    latest = (
        await uow.conn.execute(
            select(complaints)
            .where(
                complaints.c.channel == reply.channel.value,
                func.lower(complaints.c.contact) == contact,
            )
            .order_by(complaints.c.received_at.desc())
            .limit(1)
        )
    ).first()
    return latest if latest is not None and _from_its_customer(latest, reply) else None


def _canonical(channel: Channel, sender: str) -> str | None:
    if channel == Channel.sms:
        return domain.canonical_number(sender)
    return domain.canonical_address(sender)


def _from_its_customer(complaint: Row[Any], reply: Any) -> bool:
    return complaint.channel == reply.channel.value and domain.same_sender(
        complaint.channel, complaint.contact, reply.senders
    )
