"""The final response to the customer, on their channel, once: outcome, reasons, referral rights.

Like the acknowledgement it asks nothing, so it carries no token and announces no event; the
complaint row is locked before the check, so a redelivered or republished event sends nothing.
"""

import uuid
from datetime import datetime

from services.confirmation import emails, texts, texts_zh
from services.confirmation.acknowledgements import not_yet_sent
from services.confirmation.models import outbound_messages, stored_correlation_id
from services.confirmation.outbound import FINAL_RESPONSE
from services.confirmation.settings import ConfirmationSettings
from services.confirmation.wording import is_chinese
from shared.events import CaseFinalResponseSent, Channel, Envelope
from shared.uow import UnitOfWork


async def send_final_response(
    uow: UnitOfWork, envelope: Envelope, settings: ConfirmationSettings, now: datetime
) -> None:
    data = envelope.parsed()
    assert isinstance(data, CaseFinalResponseSent)
    complaint_id = str(envelope.complaint_id)
    complaint = await not_yet_sent(uow, complaint_id, FINAL_RESPONSE)
    if complaint is None:
        return
    channel = Channel(complaint.channel)
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
