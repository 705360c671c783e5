"""No answer: remind the customer on the same channel, then hand the case back to the owner.

Reminders follow `reminder_schedule_hours` (hours after the request); after the last one and
`no_answer_after_hours` more, `confirmation.no_answer` asks the owner to contact the customer.
A request never expires into a closure: it stays pending until answered or superseded.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Row, select, update

from services.confirmation.clock import Clock, system_clock
from services.confirmation.domain import Status
from services.confirmation.models import complaints, requests, stored_correlation_id
from services.confirmation.questions import (
    Question,
    issue_reminder_token,
    queue_question,
)
from services.confirmation.settings import ConfirmationRuntime, ConfirmationSettings
from shared.correlation import current_correlation_id, set_correlation_id
from shared.events import Channel, ConfirmationNoAnswer, new_event
from shared.logging import get_logger
from shared.loops import every

log = get_logger(__name__)

BATCH = 50


def reminder(clock: Clock = system_clock) -> Any:
    async def remind_forever(rt: ConfirmationRuntime) -> None:
        settings = rt.settings
        await every(
            settings.reminder_poll_seconds,
            lambda: remind_due(rt, settings, clock()),
            "reminder_pass_failed",
        )

    return remind_forever


async def remind_due(rt: ConfirmationRuntime, settings: ConfirmationSettings, now: datetime) -> int:
    """Act on every pending request whose next reminder is due; returns how many."""
    async with rt.engine.connect() as conn:
        due = (
            await conn.execute(
                select(requests.c.id)
                .where(
                    requests.c.status == Status.pending.value,
                    requests.c.next_reminder_at <= now,
                )
                .order_by(requests.c.next_reminder_at)
                .limit(BATCH)
            )
        ).scalars()
        ids = list(due)
    for request_id in ids:
        await _remind(rt, settings, request_id, now)
    return len(ids)


async def _remind(
    rt: ConfirmationRuntime, settings: ConfirmationSettings, request_id: str, now: datetime
) -> None:
    schedule = settings.reminder_hours
    async with rt.uow() as uow:
        row = (
            await uow.conn.execute(
                select(requests, complaints.c.reference, complaints.c.language)
                .join(complaints, complaints.c.id == requests.c.complaint_id)
                .where(requests.c.id == request_id)
            )
        ).first()
        if row is None or row.status != Status.pending.value or row.next_reminder_at is None:
            return
        set_correlation_id(None)
        sent = row.reminders_sent
        created = _utc(row.created_at)
        if sent < len(schedule):
            following = (
                schedule[sent + 1]
                if sent + 1 < len(schedule)
                else schedule[-1] + settings.no_answer_after_hours
            )
            values: dict[str, Any] = {
                "reminders_sent": sent + 1,
                "next_reminder_at": created + timedelta(hours=following),
            }
        else:
            values = {"next_reminder_at": None, "no_answer_at": now}
        if not await _claim(uow, row.id, sent, now, values):
            return  # another replica took this step between our read and our write
        if sent < len(schedule):
            await _queue_reminder(uow, settings, row, sent + 1, now)
        else:
            data = ConfirmationNoAnswer(
                request_id=row.id, channel=Channel(row.channel), reminders_sent=sent
            )
            uow.emit(
                new_event(
                    "confirmation.no_answer",
                    data,
                    producer="confirmation",
                    complaint_id=row.complaint_id,
                )
            )
        await uow.commit()
    log.info("reminder_pass", request_id=request_id, reminders_sent=values.get("reminders_sent"))


async def _claim(
    uow: Any, request_id: str, sent: int, now: datetime, values: dict[str, Any]
) -> bool:
    """Take this step of the request, or learn that another replica has.

    The update only matches while the request is still in the state we read (pending, due, the
    same number of reminders sent); every step changes that state, so of two replicas racing
    for one request exactly one matches. On PostgreSQL the loser's UPDATE waits for the winner's
    row lock and then re-reads the row; SQLite serialises writers. Either way the reminder mail
    or the hand-back is queued in the same transaction as the claim, so it happens once.
    """
    claimed = await uow.conn.execute(
        update(requests)
        .where(
            requests.c.id == request_id,
            requests.c.status == Status.pending.value,
            requests.c.reminders_sent == sent,
            requests.c.next_reminder_at.is_not(None),
            requests.c.next_reminder_at <= now,
        )
        .values(**values)
    )
    return bool(claimed.rowcount)


async def _queue_reminder(
    uow: Any, settings: ConfirmationSettings, row: Row[Any], number: int, now: datetime
) -> None:
    question = Question(
        request_id=row.id,
        complaint_id=row.complaint_id,
        reference=row.reference,
        channel=Channel(row.channel),
        contact=row.contact,
        outcome=row.outcome,
        summary=row.summary,
        correlation_id=stored_correlation_id(current_correlation_id()),
        language=row.language,
    )
    token = await issue_reminder_token(uow, settings, question, now)
    await queue_question(uow, settings, question, token, now, reminder_no=number)


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
