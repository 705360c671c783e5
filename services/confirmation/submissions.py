"""Complaints that arrive by email or SMS: mail to the complaints address, texts to its number.

Such a message that answers no question is the customer complaining. It is passed to intake as
`complaint.submitted` (the sender, the subject and the text), and intake opens the complaint or
joins the sender's open one; its acknowledgement then goes back on the same channel. Never a
complaint: automatic mail (auto-replies, out-of-office, bulk and list mail, and our own, which
is marked auto-generated, so a loop stops here), mail whose DMARC failed, a sender that is not
an address or a number, or a message with nothing written. One that quotes the reference of a
complaint of its own sender is a follow-up of that complaint (customer_messages.py).
"""

import uuid
from email.utils import parseaddr
from typing import Any

from sqlalchemy import update

from services.confirmation import customer_messages, domain
from services.confirmation.domain import Reason
from services.confirmation.models import inbound_messages
from shared.events import Channel, ComplaintSubmitted, new_event
from shared.logging import get_logger
from shared.uow import UnitOfWork

log = get_logger(__name__)
PRODUCER = "confirmation"
SUBMITTED_ON = frozenset({Channel.email, Channel.sms})
SUBJECT_LIMIT = 300
TEXT_LIMIT = 15_000  # intake keeps descriptions of up to 20,000 characters


async def submit(uow: UnitOfWork, reply: Any, inbound_id: str) -> str | None:
    """Announce the message as a complaint, or join it to the complaint it names; returns the
    complaint it joined (None when it is announced, or is no complaint at all)."""
    if reply.automatic or reply.dmarc == "fail" or reply.channel not in SUBMITTED_ON:
        log.info("submission_ignored", inbound_id=inbound_id, automatic=reply.automatic)
        return None
    if domain.find_reference(reply.subject, reply.body) is not None:
        # It names a complaint: a word on that one, if the sender is its customer.
        return await customer_messages.pass_on(uow, reply, None, Reason.unknown_token, inbound_id)
    contact = _contact(reply)
    text = domain.redact_tokens(reply.new_text).strip()[:TEXT_LIMIT]
    subject = " ".join(reply.subject.split())[:SUBJECT_LIMIT]
    if contact is None or not (text or subject):
        log.info("submission_ignored", inbound_id=inbound_id, reason="no sender or no text")
        return None
    # The id it is announced under: intake opens the complaint under it, or keeps it on the
    # follow-up it joins, so an erasure of the customer reaches this message and this event.
    submission_id = str(uuid.uuid4())
    await uow.conn.execute(
        update(inbound_messages)
        .where(inbound_messages.c.id == inbound_id)
        .values(complaint_id=submission_id)
    )
    data = ComplaintSubmitted(
        inbound_id=inbound_id,
        channel=reply.channel,
        contact=contact,
        name=reply.sender_name,
        subject=subject,
        text=text or subject,
        received_at=reply.received_at,
    )
    uow.emit(new_event("complaint.submitted", data, producer=PRODUCER, complaint_id=submission_id))
    log.info("complaint_submitted", inbound_id=inbound_id, channel=reply.channel.value)
    return None


def _contact(reply: Any) -> str | None:
    if reply.channel == Channel.sms:
        return domain.canonical_number(reply.sender or "")
    address = parseaddr(reply.sender or "")[1]
    return address if domain.canonical_address(address) else None


def names_us(recipients: str | list[str] | tuple[str, ...] | None, ours: str | None) -> bool:
    """Whether the message was sent to `ours` (an address, or a number for SMS)."""
    if not recipients or not ours:
        return False
    listed = [recipients] if isinstance(recipients, str) else list(recipients)
    wanted = ours.strip().lower()
    number = domain.canonical_number(ours)
    for each in listed:
        for part in each.split(","):
            address = parseaddr(part)[1].strip().lower()
            if address and address == wanted:
                return True
            if number is not None and domain.canonical_number(part) == number:
                return True
    return False
