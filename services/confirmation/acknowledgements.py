"""The acknowledgement: once the case is opened and owned, the customer hears so on their channel.

It carries the complaint's reference, the team that owns it and the time the owner aims for;
it asks nothing, so it has no token and no request: a reply to it is like any tokenless
message (recorded, attributed by the reference, and it answers nothing). It is queued once per
complaint (a partial unique index on the outbound table backs the check) and sent by the same
sender as every other message; phone, walk-in and letter have nothing to send it through.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import select

from services.confirmation import domain
from services.confirmation.models import complaints, outbound_messages
from services.confirmation.outbound import ACKNOWLEDGEMENT, queue_tokenless
from services.confirmation.reactions import ComplaintNotYetKnown
from services.confirmation.settings import ConfirmationSettings
from services.confirmation.wording import wording_for
from shared.events import CaseAssigned, Channel, Envelope
from shared.logging import get_logger
from shared.uow import UnitOfWork

log = get_logger(__name__)


async def not_yet_sent(uow: UnitOfWork, complaint_id: str, kind: str) -> Any:
    """The complaint, locked, if a message of `kind` is still to be queued for it on a channel
    that carries messages; None if it was queued already or cannot be sent."""
    query = select(complaints).where(complaints.c.id == complaint_id).with_for_update()
    complaint = (await uow.conn.execute(query)).first()
    if complaint is None:
        # The address is only known from complaint.received: wait for it.
        raise ComplaintNotYetKnown(f"complaint {complaint_id} has not been received yet")
    if Channel(complaint.channel) not in domain.MESSAGE_CHANNELS:
        return None
    queued = await uow.conn.scalar(
        select(outbound_messages.c.id).where(
            outbound_messages.c.complaint_id == complaint_id, outbound_messages.c.kind == kind
        )
    )
    if queued is not None:
        log.info("message_already_queued", kind=kind, outbound_id=queued)
        return None
    return complaint


async def acknowledge(
    uow: UnitOfWork, envelope: Envelope, settings: ConfirmationSettings, now: datetime
) -> None:
    """Queue the acknowledgement of the case `case.assigned` opened, unless it was queued."""
    if not settings.acknowledgement_enabled:
        return
    data = envelope.parsed()
    assert isinstance(data, CaseAssigned)
    complaint_id = str(envelope.complaint_id)
    complaint = await not_yet_sent(uow, complaint_id, ACKNOWLEDGEMENT)
    if complaint is None:
        return
    channel = Channel(complaint.channel)
    words = wording_for(complaint.language)
    if channel == Channel.email:
        subject = words.acknowledgement_subject(complaint.reference)
        body = words.acknowledgement_body(complaint.reference, data.team, data.due_at)
    else:
        subject, body = "", words.acknowledgement_text(complaint.reference, data.team, data.due_at)
    await queue_tokenless(
        uow.conn,
        complaint,
        ACKNOWLEDGEMENT,
        subject,
        body,
        settings,
        envelope.correlation_id,
        now,
    )
    log.info("acknowledgement_queued", complaint_id=complaint_id, channel=channel.value)
