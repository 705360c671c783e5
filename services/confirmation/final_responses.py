"""The final response to the customer, on their channel, once: outcome, reasons, referral rights.

Like the acknowledgement it asks nothing, so it carries no token and announces no event; the
complaint row is locked before the check, so a redelivered or republished event sends nothing.
"""

import uuid
from datetime import datetime

from sqlalchemy import select

from services.confirmation import domain, emails, texts, texts_zh
from services.confirmation.handlers import ComplaintNotYetKnown
from services.confirmation.models import complaints, outbound_messages, stored_correlation_id
from services.confirmation.settings import ConfirmationSettings
from services.confirmation.wording import is_chinese
from shared.events import CaseFinalResponseSent, Channel, Envelope
from shared.uow import UnitOfWork

FINAL_RESPONSE = "final_response"


async def send_final_response(
    uow: UnitOfWork, envelope: Envelope, settings: ConfirmationSettings, now: datetime
) -> None:
    data = envelope.parsed()
    assert isinstance(data, CaseFinalResponseSent)
    complaint_id = str(envelope.complaint_id)
    query = select(complaints).where(complaints.c.id == complaint_id).with_for_update()
    complaint = (await uow.conn.execute(query)).first()
    if complaint is None:
        raise ComplaintNotYetKnown(f"complaint {complaint_id} has not been received yet")
    channel = Channel(complaint.channel)
    if channel not in domain.MESSAGE_CHANNELS:
        return
    queued = await uow.conn.scalar(
        select(outbound_messages.c.id).where(
            outbound_messages.c.complaint_id == complaint_id,
            outbound_messages.c.kind == FINAL_RESPONSE,
        )
    )
    if queued is not None:
        return
    words = texts_zh if is_chinese(data.language or complaint.language) else texts
    body = words.final_response_body(
        complaint.reference, data.outcome, data.reasons, data.referral_rights
    )
    subject = words.final_response_subject(complaint.reference) if channel == Channel.email else ""
    await uow.conn.execute(
        outbound_messages.insert().values(
            id=str(uuid.uuid4()),
            request_id=None,
            complaint_id=complaint_id,
            channel=channel.value,
            recipient=complaint.contact,
            subject=subject,
            body=body,
            message_id=emails.new_message_id(settings.smtp_from),
            correlation_id=stored_correlation_id(envelope.correlation_id),
            status="queued",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
            kind=FINAL_RESPONSE,
            reminder_no=0,
            expires_at=None,
        )
    )
