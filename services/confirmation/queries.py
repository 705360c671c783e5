"""Read side: a complaint's confirmation requests and the messages that went each way."""

import re
from typing import Any

from sqlalchemy import select

from services.confirmation.domain import LINK_CHANNELS, Status, redact_tokens
from services.confirmation.models import complaints, inbound_messages, outbound_messages, requests
from services.confirmation.schemas import (
    ConfirmationsPublic,
    InboundPublic,
    OutboundPublic,
    RequestPublic,
)
from shared.errors import NotFound
from shared.service import Runtime

_LINK = re.compile(r"\S+/c/[A-Za-z0-9]+")


def _link(message: Any, pending: set[str], with_links: bool) -> str | None:
    """The page link of a web/chat message, for the front end only, while it can be answered."""
    if not with_links or message.channel not in LINK_CHANNELS or message.status != "sent":
        return None
    if message.request_id not in pending:
        return None
    match = _LINK.search(message.body)
    return match.group(0) if match else None


async def confirmations_of(
    rt: Runtime, complaint_id: str, with_links: bool = False
) -> ConfirmationsPublic:
    async with rt.engine.connect() as conn:
        complaint = (
            await conn.execute(select(complaints).where(complaints.c.id == complaint_id))
        ).first()
        asked = (
            await conn.execute(
                select(requests)
                .where(requests.c.complaint_id == complaint_id)
                .order_by(requests.c.created_at)
            )
        ).all()
        sent = (
            await conn.execute(
                select(outbound_messages)
                .where(outbound_messages.c.complaint_id == complaint_id)
                .order_by(outbound_messages.c.created_at)
            )
        ).all()
        received = (
            await conn.execute(
                select(inbound_messages)
                .where(inbound_messages.c.complaint_id == complaint_id)
                .order_by(inbound_messages.c.received_at)
            )
        ).all()
    if complaint is None and not asked:
        raise NotFound("complaint_not_found", f"No complaint {complaint_id} is known here.")
    pending = {r.id for r in asked if r.status == Status.pending}
    return ConfirmationsPublic(
        complaint_id=complaint_id,
        reference=None if complaint is None else complaint.reference,
        channel=None if complaint is None else complaint.channel,
        requests=[RequestPublic.model_validate(r._asdict()) for r in asked],
        outbound=[
            OutboundPublic.model_validate(
                {
                    **m._asdict(),
                    "subject": redact_tokens(m.subject),
                    "link": _link(m, pending, with_links),
                }
            )
            for m in sent
        ],
        inbound=[InboundPublic.model_validate(m._asdict()) for m in received],
    )
