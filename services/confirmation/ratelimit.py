"""How many messages one contact may get: the window's allowance, then they wait."""

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Row, func, select

from services.confirmation.models import outbound_messages
from services.confirmation.settings import ConfirmationSettings


async def rate_limited_until(
    uow: Any, settings: ConfirmationSettings, message: Row[Any], now: datetime
) -> datetime | None:
    """When the contact may next be written to, if the window's allowance is used up."""
    window = timedelta(hours=settings.outbound_rate_window_hours)
    sent = (
        await uow.conn.execute(
            select(func.count(), func.min(outbound_messages.c.sent_at)).where(
                outbound_messages.c.recipient == message.recipient,
                outbound_messages.c.status == "sent",
                outbound_messages.c.sent_at > now - window,
            )
        )
    ).one()
    if sent[0] < settings.outbound_max_per_contact:
        return None
    oldest = sent[1]
    oldest = oldest.replace(tzinfo=UTC) if oldest.tzinfo is None else oldest
    return max(oldest + window, now + timedelta(seconds=1))
