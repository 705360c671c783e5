"""The mail sender: delivers queued confirmation emails and announces them once sent.

A message is claimed with a lease (a conditional UPDATE of its next attempt time) so that
several replicas never send it at the same time; SMTP is spoken outside any transaction; then
one unit of work marks it sent and emits `confirmation.requested`. A crash between sending and
marking resends the same email after the lease: the customer may get it twice, never zero times.
"""

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import aiosmtplib
from sqlalchemy import Row, select, update

from services.confirmation import emails
from services.confirmation.models import outbound_messages
from services.confirmation.settings import ConfirmationSettings
from shared.correlation import set_correlation_id
from shared.events import Channel, ConfirmationRequested, new_event
from shared.logging import get_logger
from shared.service import Runtime

log = get_logger(__name__)

PRODUCER = "confirmation"
BATCH = 20


def retry_delay(settings: ConfirmationSettings, attempts: int) -> float:
    """Exponential back-off after the n-th failed attempt, capped; never gives up."""
    base = settings.outbound_retry_base_seconds
    return float(min(base * 2 ** max(attempts - 1, 0), settings.outbound_retry_max_seconds))


async def send_queued_emails(rt: Runtime) -> None:
    """Background worker: runs until cancelled and survives every error."""
    settings = rt.settings
    assert isinstance(settings, ConfirmationSettings)
    while not _stopping():
        try:
            while await send_due(rt, settings) and not _stopping():
                pass
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("outbound_sender_failed")
        await asyncio.sleep(settings.outbound_poll_seconds)
    raise asyncio.CancelledError


def _stopping() -> bool:
    """Shutdown was requested: aiosmtplib 5.1 can swallow a CancelledError while connecting."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


async def send_due(rt: Runtime, settings: ConfirmationSettings) -> int:
    """Try every due message once; returns how many were attempted."""
    now = datetime.now(UTC)
    async with rt.engine.connect() as conn:
        due = (
            await conn.execute(
                select(outbound_messages.c.id)
                .where(
                    outbound_messages.c.status == "queued",
                    outbound_messages.c.next_attempt_at <= now,
                )
                .order_by(outbound_messages.c.next_attempt_at)
                .limit(BATCH)
            )
        ).scalars()
        ids = list(due)
    attempted = 0
    for message_id in ids:
        if _stopping():
            break
        message = await _claim(rt, settings, message_id)
        if message is not None:
            attempted += 1
            await _deliver(rt, settings, message)
    return attempted


async def _claim(rt: Runtime, settings: ConfirmationSettings, message_id: str) -> Row[Any] | None:
    now = datetime.now(UTC)
    lease = now + timedelta(seconds=settings.smtp_timeout * 6)
    async with rt.uow() as uow:
        claimed = await uow.conn.execute(
            update(outbound_messages)
            .where(
                outbound_messages.c.id == message_id,
                outbound_messages.c.status == "queued",
                outbound_messages.c.next_attempt_at <= now,
            )
            .values(next_attempt_at=lease)
        )
        if claimed.rowcount != 1:
            return None
        row = (
            await uow.conn.execute(
                select(outbound_messages).where(outbound_messages.c.id == message_id)
            )
        ).one()
        await uow.commit()
    return row


async def _deliver(rt: Runtime, settings: ConfirmationSettings, message: Row[Any]) -> None:
    set_correlation_id(message.correlation_id)  # the proposal's, so the request traces back
    email_message = emails.build_message(
        sender=settings.smtp_from,
        reply_to=settings.reply_address,
        recipient=message.recipient,
        subject=message.subject,
        body=message.body,
        message_id=message.message_id,
    )
    raw, utf8 = emails.wire_bytes(email_message)
    try:
        await aiosmtplib.send(
            raw,
            sender=emails.address_of(settings.smtp_from),
            recipients=[message.recipient],
            mail_options=["SMTPUTF8"] if utf8 else None,
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=settings.smtp_password,
            use_tls=settings.smtp_use_tls,
            start_tls=settings.smtp_starttls,
            timeout=settings.smtp_timeout,
        )
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        await _failed(rt, settings, message, f"{type(exc).__name__}: {exc}")
        return
    await _sent(rt, message)


async def _sent(rt: Runtime, message: Row[Any]) -> None:
    sent_at = datetime.now(UTC)
    async with rt.uow() as uow:
        await uow.conn.execute(
            update(outbound_messages)
            .where(outbound_messages.c.id == message.id)
            .values(status="sent", sent_at=sent_at, attempts=message.attempts + 1, last_error=None)
        )
        data = ConfirmationRequested(
            request_id=message.request_id, channel=Channel(message.channel), sent_at=sent_at
        )
        uow.emit(
            new_event(
                "confirmation.requested",
                data,
                producer=PRODUCER,
                complaint_id=message.complaint_id,
            )
        )
        await uow.commit()
    log.info("confirmation_email_sent", request_id=message.request_id, outbound_id=message.id)


async def _failed(
    rt: Runtime, settings: ConfirmationSettings, message: Row[Any], error: str
) -> None:
    attempts = message.attempts + 1
    delay = retry_delay(settings, attempts)
    async with rt.uow() as uow:
        await uow.conn.execute(
            update(outbound_messages)
            .where(outbound_messages.c.id == message.id)
            .values(
                attempts=attempts,
                last_error=error[:2000],
                next_attempt_at=datetime.now(UTC) + timedelta(seconds=delay),
            )
        )
        await uow.commit()
    log.warning(
        "confirmation_email_failed",
        outbound_id=message.id,
        request_id=message.request_id,
        attempt=attempts,
        retry_in=delay,
        error=error,
    )
