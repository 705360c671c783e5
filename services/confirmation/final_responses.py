"""The final response to the customer, on their channel, once: outcome, reasons, referral rights.

Like the acknowledgement it asks nothing, so it carries no token and announces no event; the
complaint row is locked before the check, so a redelivered or republished event sends nothing.
"""

from datetime import datetime

from services.confirmation import texts, texts_zh
from services.confirmation.acknowledgements import not_yet_sent
from services.confirmation.outbound import FINAL_RESPONSE, queue_tokenless
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
    await queue_tokenless(
        uow.conn,
        complaint,
        FINAL_RESPONSE,
        subject,
        body,
        settings,
        envelope.correlation_id,
        now,
    )
