"""Putting a question to the customer on their channel: the message queued for the sender.

Email and SMS go out through their gateways; on web and chat the message carries the page's
link and is posted, signed, to the delivery webhook of the front end that owns the customer's
session (see delivery.py); no API shows it. Every token is stored as a keyed hash; the raw one
lives only in the queued message, which loses it once sent or cancelled.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update

from services.confirmation import domain, emails, texts
from services.confirmation.models import outbound_messages, request_tokens, requests
from services.confirmation.settings import ConfirmationSettings
from services.confirmation.wording import wording_for
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
    language: str | None = None  # the complaint's, BCP 47: the words are chosen by it


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


def token_hash(settings: ConfirmationSettings, token: str) -> str:
    return domain.hash_token(token, settings.token_hash_secret)


async def issue_reminder_token(
    uow: UnitOfWork, settings: ConfirmationSettings, q: Question, now: datetime
) -> str:
    token = domain.token_for(q.channel)
    if q.channel in domain.LINK_CHANNELS:
        await _retire_links(uow, q.request_id, now)
    await uow.conn.execute(
        insert(request_tokens).values(
            token_hash=token_hash(settings, token),
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
            expires_at=link_expiry(settings, q.channel, now),
        )
    )


async def _retire_links(uow: UnitOfWork, request_id: str, now: datetime) -> None:
    """A link sent again replaces the one before: only the newest link of a request answers."""
    await uow.conn.execute(
        update(requests).where(requests.c.id == request_id).values(token_expires_at=now)
    )
    await uow.conn.execute(
        update(request_tokens)
        .where(request_tokens.c.request_id == request_id)
        .values(expires_at=now)
    )


async def cancel_queued(uow: UnitOfWork, request_ids: Any) -> None:
    """Messages not yet sent for requests that ended: never sent, and their tokens dropped."""
    queued = (
        await uow.conn.execute(
            select(outbound_messages.c.id, outbound_messages.c.subject, outbound_messages.c.body)
            .where(
                outbound_messages.c.request_id.in_(request_ids),
                outbound_messages.c.status == "queued",
            )
            .with_for_update()
        )
    ).all()
    for message in queued:
        await uow.conn.execute(
            update(outbound_messages)
            .where(outbound_messages.c.id == message.id, outbound_messages.c.status == "queued")
            .values(
                status="cancelled",
                subject=domain.scrub_token(message.subject, None),
                body=domain.scrub_token(message.body, None),
            )
        )


def _message(
    settings: ConfirmationSettings, q: Question, token: str, reminder_no: int
) -> tuple[str, str]:
    words = wording_for(q.language)
    if q.channel == Channel.email:
        subject = (
            words.reminder_subject(q.reference, token)
            if reminder_no
            else words.subject_line(q.reference, token)
        )
        return subject, words.body_text(q.reference, token, q.outcome, q.summary)
    if q.channel == Channel.sms:
        return "", words.sms_text(q.reference, token, q.outcome, q.summary, reminder_no)
    url = texts.link_url(settings.public_base_url, token)
    return "", words.link_text(q.reference, url, q.outcome, reminder_no)
