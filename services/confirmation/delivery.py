"""Delivery webhooks: how a web/chat link reaches the customer's own session, and nobody else.

The front end that owns the customer's session registers, per channel, a URL and a secret
(`PUT /v1/delivery-webhooks/{channel}`). The sender POSTs each link there as JSON, signed like
the inbound webhooks (`X-Timestamp`, `X-Signature` = hex HMAC-SHA256 of "<timestamp>.<body>"),
and retries with the outbound back-off until the front end answers 2xx. No API returns a link:
whoever reads confirmations (staff, the front end's own token) cannot answer for the customer.
"""

import json
import re
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, select, update

from services.confirmation.models import complaints, delivery_webhooks
from shared.service import Runtime

PAYLOAD_TYPE = "confirmation.link"
# An acknowledgement carries no link: the front end shows its text in the customer's session.
ACKNOWLEDGEMENT_TYPE = "confirmation.acknowledgement"
PAYLOAD_TYPES = {
    "acknowledgement": ACKNOWLEDGEMENT_TYPE,
    "final_response": "confirmation.final_response",
    "message": "confirmation.message",
    "survey": "confirmation.survey",
}
_LINK = re.compile(r"\S+/c/[A-Za-z0-9]{1,64}")


async def register(
    rt: Runtime, channel: str, url: str, secret: str, who: str, now: datetime
) -> dict[str, Any]:
    """Create or replace the channel's webhook; the next delivery goes to the new URL."""
    values = {"url": url, "secret": secret, "updated_by": who, "updated_at": now}
    async with rt.uow() as uow:
        changed = await uow.conn.execute(
            update(delivery_webhooks).where(delivery_webhooks.c.channel == channel).values(values)
        )
        if changed.rowcount == 0:
            await uow.conn.execute(delivery_webhooks.insert().values(channel=channel, **values))
        await uow.commit()
    return {"channel": channel, "url": url, "updated_by": who, "updated_at": now}


async def registered(rt: Runtime) -> list[dict[str, Any]]:
    """Every registered webhook, without its secret."""
    query = select(
        delivery_webhooks.c.channel,
        delivery_webhooks.c.url,
        delivery_webhooks.c.updated_by,
        delivery_webhooks.c.updated_at,
    ).order_by(delivery_webhooks.c.channel)
    async with rt.engine.connect() as conn:
        return [row._asdict() for row in (await conn.execute(query)).all()]


async def target(rt: Runtime, message: Row[Any]) -> tuple[Row[Any] | None, str | None]:
    """The channel's webhook and the complaint's reference, read outside any transaction."""
    async with rt.engine.connect() as conn:
        hook = (
            await conn.execute(
                select(delivery_webhooks).where(delivery_webhooks.c.channel == message.channel)
            )
        ).first()
        reference = await conn.scalar(
            select(complaints.c.reference).where(complaints.c.id == message.complaint_id)
        )
    return hook, None if reference is None else str(reference)


def payload(message: Row[Any], reference: str | None, now: datetime) -> bytes:
    """What the front end is told: enough to find the session and show the link, no more."""
    match = _LINK.search(message.body)
    expires = message.expires_at
    if expires is not None and expires.tzinfo is None:
        expires = expires.replace(tzinfo=UTC)
    body = {
        "type": PAYLOAD_TYPES.get(message.kind, PAYLOAD_TYPE),
        "delivery_id": message.id,
        "complaint_id": message.complaint_id,
        "reference": reference,
        "request_id": message.request_id,
        "channel": message.channel,
        "contact": message.recipient,
        "kind": message.kind,
        "reminder_no": message.reminder_no,
        "link": match.group(0) if match else None,
        "text": message.body,
        "expires_at": None if expires is None else expires.isoformat(),
        "sent_at": now.isoformat(),
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
