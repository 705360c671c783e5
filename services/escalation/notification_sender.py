"""The sender of escalation notifications: mail over SMTP and signed posts to team webhooks.

It claims queued rows with a lease, so replicas never send one twice at a time, speaks to the
relay or the webhook outside any transaction, and retries with back-off until it is accepted;
a post whose team has removed its webhook since is dropped.
"""

import asyncio
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import make_msgid, parseaddr
from typing import Any

from sqlalchemy import Row, select, update

from services.escalation.models import notifications, team_webhooks
from services.escalation.settings import EscalationSettings
from shared.errors import is_transient
from shared.logging import get_logger
from shared.loops import every, stopping
from shared.sending import SmtpServer, post_signed, send_mail
from shared.service import Runtime

log = get_logger(__name__)
BATCH = 20


def notification_sender(
    settings: EscalationSettings, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
) -> Callable[[Runtime], Coroutine[Any, Any, None]]:
    """The background loop that sends queued notifications."""

    async def loop(rt: Runtime) -> None:
        await every(
            settings.notification_poll_seconds,
            lambda: send_due(rt, settings, clock),
            "notifications_failed",
            drain=True,
        )

    return loop


async def send_due(rt: Runtime, settings: EscalationSettings, clock: Callable[[], datetime]) -> int:
    """Try every due notification once; returns how many were tried."""
    async with rt.engine.connect() as conn:
        due = await conn.scalars(
            select(notifications.c.id)
            .where(notifications.c.status == "queued", notifications.c.next_attempt_at <= clock())
            .order_by(notifications.c.next_attempt_at)
            .limit(BATCH)
        )
        ids = list(due)
    tried = 0
    for notification_id in ids:
        if stopping():
            break
        row = await _claim(rt, settings, notification_id, clock())
        if row is not None:
            tried += 1
            error = await _send(rt, settings, row)
            await _settle(rt, settings, row, error, clock())
    return tried


async def _claim(
    rt: Runtime, settings: EscalationSettings, notification_id: str, now: datetime
) -> Row[Any] | None:
    lease = now + timedelta(
        seconds=max(settings.smtp_timeout, settings.webhook_timeout_seconds) * 6
    )
    async with rt.uow() as uow:
        claimed = await uow.conn.execute(
            update(notifications)
            .where(
                notifications.c.id == notification_id,
                notifications.c.status == "queued",
                notifications.c.next_attempt_at <= now,
            )
            .values(next_attempt_at=lease)
        )
        if claimed.rowcount != 1:
            return None
        query = select(notifications).where(notifications.c.id == notification_id)
        row = (await uow.conn.execute(query)).one()
        await uow.commit()
        return row


NO_WEBHOOK = "no_team_webhook"


async def _send(rt: Runtime, settings: EscalationSettings, row: Row[Any]) -> str | None:
    if row.channel == "email":
        message = EmailMessage(policy=SMTP)
        message["From"] = settings.smtp_from
        message["To"] = row.address
        message["Subject"] = " ".join(row.subject.split())
        message["Message-ID"] = make_msgid(domain=parseaddr(settings.smtp_from)[1].split("@")[-1])
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(row.body)
        server = SmtpServer(
            host=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=settings.smtp_password,
            use_tls=settings.smtp_use_tls,
            starttls=settings.smtp_starttls,
            timeout=settings.smtp_timeout,
        )
        sender = parseaddr(settings.smtp_from)[1]
        return await send_mail(server, message.as_bytes(), sender, [row.address])
    async with rt.engine.connect() as conn:
        hook = (
            await conn.execute(select(team_webhooks).where(team_webhooks.c.team == row.address))
        ).first()
    if hook is None:
        return NO_WEBHOOK
    return await post_signed(
        hook.url, hook.secret, row.body.encode(), settings.webhook_timeout_seconds
    )


async def _settle(
    rt: Runtime, settings: EscalationSettings, row: Row[Any], error: str | None, now: datetime
) -> None:
    attempts = row.attempts + 1
    if error is None or error == NO_WEBHOOK:
        # Sent; or the team took its webhook away since, and there is nowhere to post it.
        values: dict[str, Any] = {"status": "sent" if error is None else "dropped"}
        values.update(attempts=attempts, sent_at=now if error is None else None, last_error=error)
    else:
        wait = settings.notification_retry_base_seconds * 2 ** min(attempts - 1, 20)
        values = {
            "attempts": attempts,
            "last_error": error[:2000],
            "next_attempt_at": now
            + timedelta(seconds=min(wait, settings.notification_retry_max_seconds)),
        }
    for attempt in range(5):
        try:
            async with rt.uow() as uow:
                await uow.conn.execute(
                    update(notifications)
                    .where(notifications.c.id == row.id, notifications.c.status == "queued")
                    .values(**values)
                )
                await uow.commit()
            break
        except Exception as exc:
            # The database is briefly out of reach: keep trying rather than send it again
            # when the lease ends.
            if attempt == 4 or not is_transient(exc):
                raise
            await asyncio.sleep(1.0 * (attempt + 1))
    log.info(
        "notification_sent" if error is None else "notification_failed",
        channel=row.channel,
        notification_id=row.id,
        error=error,
    )
