"""The owner's messages to the customer: queued once each, on the complaint's channel.

Each `case.message_sent` becomes one outbound message whose id is the message's own, so a
redelivered or republished event queues nothing more. It asks nothing, so it carries no token:
a reply is a tokenless message, attributed by the reference and put on the timeline
(customer_messages.py); it can close nothing.
"""

from datetime import datetime

from sqlalchemy import select

from services.confirmation import domain
from services.confirmation.models import complaints, outbound_messages
from services.confirmation.outbound import OWNER_MESSAGE, queue_tokenless
from services.confirmation.reactions import ComplaintNotYetKnown
from services.confirmation.settings import ConfirmationSettings
from services.confirmation.wording import wording_for
from shared.events import CaseMessageSent, Channel, Envelope
from shared.logging import get_logger
from shared.uow import UnitOfWork

log = get_logger(__name__)


async def queue_owner_message(
    uow: UnitOfWork, envelope: Envelope, settings: ConfirmationSettings, now: datetime
) -> None:
    data = envelope.parsed()
    assert isinstance(data, CaseMessageSent)
    complaint_id = str(envelope.complaint_id)
    query = select(complaints).where(complaints.c.id == complaint_id)
    complaint = (await uow.conn.execute(query)).first()
    if complaint is None:
        raise ComplaintNotYetKnown(f"complaint {complaint_id} has not been received yet")
    channel = Channel(complaint.channel)
    if channel not in domain.MESSAGE_CHANNELS:
        log.warning("owner_message_not_sendable", complaint_id=complaint_id, channel=channel)
        return
    known = select(outbound_messages.c.id).where(outbound_messages.c.id == data.message_id)
    if await uow.conn.scalar(known) is not None:
        return
    words = wording_for(data.language or complaint.language)
    short = channel != Channel.email
    await queue_tokenless(
        uow.conn,
        complaint,
        OWNER_MESSAGE,
        "" if short else words.message_subject(complaint.reference),
        words.message_body(complaint.reference, data.template, data.text, short),
        settings,
        envelope.correlation_id,
        now,
        message_id=data.message_id,
    )
    log.info("owner_message_queued", complaint_id=complaint_id, channel=channel.value)
