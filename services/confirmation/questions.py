"""Putting a question to the customer on their channel: the message queued for the sender.

Email and SMS go out through their gateways; on web and chat the message carries the page's
link and is handed to the front end that owns the customer's session (it reads the link from
`GET /v1/confirmations`). Every token is stored hashed; the raw one lives only in the message.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import insert

from services.confirmation import domain, emails, texts
from services.confirmation.models import outbound_messages, request_tokens
from services.confirmation.settings import ConfirmationSettings
from shared.events import Channel
from shared.uow import UnitOfWork


@dataclass(frozen=True)
class Question:
    request_id: str
    complaint_id: str
    reference: str
    channel: Channel
    contact: str
    outcome: str
    summary: str
    correlation_id: str


def link_expiry(settings: ConfirmationSettings, channel: Channel, now: datetime) -> datetime | None:
    if channel not in domain.LINK_CHANNELS:
        return None
    return now + timedelta(hours=settings.web_token_ttl_hours)


def first_reminder_at(
    settings: ConfirmationSettings, channel: Channel, created_at: datetime
) -> datetime | None:
    """Attested channels have no message to repeat: their owner is the one who calls."""
    hours = settings.reminder_hours
    if channel not in domain.MESSAGE_CHANNELS or not hours:
        return None
    return created_at + timedelta(hours=hours[0])


async def issue_reminder_token(
    uow: UnitOfWork, settings: ConfirmationSettings, q: Question, now: datetime
) -> str:
    token = domain.token_for(q.channel)
    await uow.conn.execute(
        insert(request_tokens).values(
            token_hash=domain.hash_token(token),
            request_id=q.request_id,
            expires_at=link_expiry(settings, q.channel, now),
            created_at=now,
        )
    )
    return token


async def queue_question(
    uow: UnitOfWork,
    settings: ConfirmationSettings,
    q: Question,
    token: str,
    now: datetime,
    reminder_no: int = 0,
) -> None:
    subject, body = _message(settings, q, token, reminder_no)
    await uow.conn.execute(
        outbound_messages.insert().values(
            id=str(uuid.uuid4()),
            request_id=q.request_id,
            complaint_id=q.complaint_id,
            channel=q.channel.value,
            recipient=q.contact,
            subject=subject,
            body=body,
            message_id=emails.new_message_id(settings.smtp_from),
            correlation_id=q.correlation_id,
            status="queued",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
            kind="reminder" if reminder_no else "request",
            reminder_no=reminder_no,
        )
    )


def _message(
    settings: ConfirmationSettings, q: Question, token: str, reminder_no: int
) -> tuple[str, str]:
    if q.channel == Channel.email:
        subject = (
            texts.reminder_subject(q.reference, token)
            if reminder_no
            else emails.subject_line(q.reference, token)
        )
        return subject, emails.body_text(q.reference, token, q.outcome, q.summary)
    if q.channel == Channel.sms:
        return "", texts.sms_text(q.reference, token, q.outcome, q.summary, reminder_no)
    url = texts.link_url(settings.public_base_url, token)
    return "", texts.link_text(q.reference, url, q.outcome, reminder_no)
