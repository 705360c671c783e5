"""The sender: delivers queued messages (email, SMS, web/chat links) and announces them.

A message is claimed with a lease (a conditional UPDATE of its next attempt time) so that
several replicas never send it at the same time; SMTP or the SMS gateway is spoken outside any
transaction; then one unit of work marks it sent and emits `confirmation.requested` (or
`confirmation.reminder_sent`). A crash between sending and marking resends the same message
after the lease: the customer may get it twice, never zero times. A web/chat message is
posted, signed, to the delivery webhook of the front end that owns the customer's session
(delivery.py). Once sent, the message keeps its words but not its token.

No contact gets more than `outbound_max_per_contact` messages per window: the rest wait.
"""

import asyncio
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, select, update

from services.confirmation import delivery, domain, emails, transports
from services.confirmation.clock import Clock, system_clock
from services.confirmation.models import outbound_messages, requests, stored_correlation_id
from services.confirmation.quiet_hours import send_after
from services.confirmation.ratelimit import rate_limited_until
from services.confirmation.settings import ConfirmationRuntime, ConfirmationSettings
from shared.correlation import set_correlation_id
from shared.errors import is_transient
from shared.events import (
    Channel,
    ConfirmationReminderSent,
    ConfirmationRequested,
    EventData,
    new_event,
)
from shared.logging import get_logger
from shared.loops import every, stopping

log = get_logger(__name__)

PRODUCER = "confirmation"
BATCH = 20
ACKNOWLEDGEMENT = "acknowledgement"
FINAL_RESPONSE = "final_response"
OWNER_MESSAGE = "message"
SURVEY = "survey"
# Messages without a request: once sent there is nothing to announce.
ASKING_NOTHING = frozenset({ACKNOWLEDGEMENT, FINAL_RESPONSE, OWNER_MESSAGE, SURVEY})


async def queue_tokenless(
    conn: Any,
    complaint: Any,
    kind: str,
    subject: str,
    body: str,
    settings: ConfirmationSettings,
    correlation_id: str,
    now: datetime,
    message_id: str | None = None,
) -> None:
    """Queue a message that asks nothing (no token, no request) to the complaint's own address
    on its channel; the sender delivers it like every other. `message_id`: the outbound row's
    id when the caller's event names one, so that a repeat of it queues nothing new."""
    await conn.execute(
        outbound_messages.insert().values(
            id=message_id or str(uuid.uuid4()),
            request_id=None,
            complaint_id=complaint.id,
            channel=complaint.channel,
            recipient=complaint.contact,
            subject=subject,
            body=body,
            message_id=emails.new_message_id(settings.smtp_from),
            correlation_id=stored_correlation_id(correlation_id),
            status="queued",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
            kind=kind,
            reminder_no=0,
            expires_at=None,
        )
    )


def retry_delay(settings: ConfirmationSettings, attempts: int) -> float:
    """Exponential back-off after the n-th failed attempt, capped; never gives up."""
    base = settings.outbound_retry_base_seconds
    return float(min(base * 2 ** max(attempts - 1, 0), settings.outbound_retry_max_seconds))


def sender(clock: Clock = system_clock) -> Any:
    async def send_queued_messages(rt: ConfirmationRuntime) -> None:
        await _send_forever(rt, clock)

    return send_queued_messages


async def _send_forever(rt: ConfirmationRuntime, clock: Clock) -> None:
    """Background worker: sends what is due, batch after batch, until cancelled (aiosmtplib 5.1
    can swallow a CancelledError while connecting: `every` stops all the same)."""
    settings = rt.settings
    await every(
        settings.outbound_poll_seconds,
        lambda: send_due(rt, settings, clock),
        "outbound_sender_failed",
        drain=True,
    )


async def send_due(
    rt: ConfirmationRuntime, settings: ConfirmationSettings, clock: Clock = system_clock
) -> int:
    """Try every due message once; returns how many were attempted."""
    now = clock()
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
        if stopping():
            break
        message = await _claim(rt, settings, message_id, clock())
        if message is not None:
            attempted += 1
            await _deliver(rt, settings, message, clock)
    return attempted


async def _claim(
    rt: ConfirmationRuntime, settings: ConfirmationSettings, message_id: str, now: datetime
) -> Row[Any] | None:
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
        why, wait_until = "quiet_hours", _quiet_until(settings, row, now)
        if wait_until is None:
            why, wait_until = "rate_limited", await rate_limited_until(uow, settings, row, now)
        if wait_until is not None:
            await uow.conn.execute(
                update(outbound_messages)
                .where(outbound_messages.c.id == message_id)
                .values(next_attempt_at=wait_until, last_error=why)
            )
        await uow.commit()
    if wait_until is not None:
        log.warning(f"outbound_{why}", outbound_id=message_id, until=wait_until.isoformat())
        return None
    return row


def _quiet_until(
    settings: ConfirmationSettings, message: Row[Any], now: datetime
) -> datetime | None:
    """A text of the held kinds waits out the night in the customer's zone."""
    rules = settings.quiet_hours
    if rules is None or message.channel != Channel.sms.value or message.kind not in rules.kinds:
        return None
    return send_after(rules, message.recipient, now)


async def _deliver(
    rt: ConfirmationRuntime, settings: ConfirmationSettings, message: Row[Any], clock: Clock
) -> None:
    set_correlation_id(message.correlation_id)  # the proposal's, so the request traces back
    if message.channel == Channel.email.value:
        error = await transports.send_email(settings, message)
    elif message.channel == Channel.sms.value:
        error = await transports.send_sms(settings, message)
    else:
        hook, reference = await delivery.target(rt, message)
        body = delivery.payload(message, reference, clock())
        error = await transports.post_link(settings, hook, body)
    if error is not None:
        await _failed(rt, settings, message, error, clock())
        return
    await _record_sent(rt, message, clock())


async def _record_sent(rt: ConfirmationRuntime, message: Row[Any], sent_at: datetime) -> None:
    """The message is out: recording that is retried through a database outage, because giving
    up would send it to the customer again once its lease ends."""
    delay = 0.2
    while True:
        try:
            await _sent(rt, message, sent_at)
            return
        except Exception as exc:
            if not is_transient(exc) or stopping():
                raise
            log.warning("outbound_sent_not_recorded_yet", outbound_id=message.id, retry_in=delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)


async def _sent(rt: ConfirmationRuntime, message: Row[Any], sent_at: datetime) -> None:
    async with rt.uow() as uow:
        recorded = await uow.conn.execute(
            update(outbound_messages)
            .where(outbound_messages.c.id == message.id, outbound_messages.c.status != "sent")
            .values(
                status="sent",
                sent_at=sent_at,
                attempts=message.attempts + 1,
                last_error=None,
                subject=domain.scrub_token(message.subject, None),
                body=domain.scrub_token(message.body, None),
            )
        )
        if recorded.rowcount != 1:
            return  # an earlier try committed before its connection was lost
        channel = Channel(message.channel)
        data: EventData
        if message.kind in ASKING_NOTHING:
            await uow.commit()  # it asked nothing: there is no request to announce
            log.info(f"{message.kind}_sent", outbound_id=message.id, channel=message.channel)
            return
        if message.kind == "reminder":
            event_type = "confirmation.reminder_sent"
            data = ConfirmationReminderSent(
                request_id=message.request_id,
                channel=channel,
                reminder_no=message.reminder_no,
                sent_at=sent_at,
            )
        else:
            event_type = "confirmation.requested"
            proposal_no = await uow.conn.scalar(
                select(requests.c.proposal_no).where(requests.c.id == message.request_id)
            )
            data = ConfirmationRequested(
                request_id=message.request_id,
                channel=channel,
                sent_at=sent_at,
                proposal_no=proposal_no or 0,
            )
        uow.emit(
            new_event(
                event_type,
                data,
                producer=PRODUCER,
                complaint_id=message.complaint_id,
            )
        )
        await uow.commit()
    log.info(
        "confirmation_message_sent",
        request_id=message.request_id,
        outbound_id=message.id,
        channel=message.channel,
        kind=message.kind,
    )


async def _failed(
    rt: ConfirmationRuntime,
    settings: ConfirmationSettings,
    message: Row[Any],
    error: str,
    now: datetime,
) -> None:
    attempts = message.attempts + 1
    delay = retry_delay(settings, attempts)
    error = domain.scrub_token(error, None)  # a gateway may echo what it was sent
    async with rt.uow() as uow:
        await uow.conn.execute(
            update(outbound_messages)
            .where(outbound_messages.c.id == message.id)
            .values(
                attempts=attempts,
                last_error=error[:2000],
                next_attempt_at=now + timedelta(seconds=delay),
            )
        )
        await uow.commit()
    log.warning(
        "confirmation_message_failed",
        outbound_id=message.id,
        request_id=message.request_id,
        attempt=attempts,
        retry_in=delay,
        error=error,
    )
