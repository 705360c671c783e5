"""Read side: a complaint's confirmation requests and the messages that went each way."""

from sqlalchemy import select

from services.confirmation.domain import scrub_token
from services.confirmation.models import (
    complaints,
    inbound_messages,
    outbound_messages,
    page_opens,
    requests,
)
from services.confirmation.schemas import (
    ConfirmationsPublic,
    InboundPublic,
    OpenedPublic,
    OutboundPublic,
    RequestPublic,
)
from shared.errors import NotFound
from shared.service import Runtime


async def confirmations_of(rt: Runtime, complaint_id: str) -> ConfirmationsPublic:
    """Never a live token or link: a queued message is shown as it will be kept once sent."""
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
        opened = (
            await conn.execute(
                select(page_opens)
                .where(page_opens.c.complaint_id == complaint_id)
                .order_by(page_opens.c.opened_at)
            )
        ).all()
    if complaint is None and not asked:
        raise NotFound("complaint_not_found", f"No complaint {complaint_id} is known here.")
    return ConfirmationsPublic(
        complaint_id=complaint_id,
        reference=None if complaint is None else complaint.reference,
        channel=None if complaint is None else complaint.channel,
        requests=[RequestPublic.model_validate(r._asdict()) for r in asked],
        outbound=[
            OutboundPublic.model_validate({**m._asdict(), "subject": scrub_token(m.subject, None)})
            for m in sent
        ],
        inbound=[InboundPublic.model_validate(m._asdict()) for m in received],
        opened=[OpenedPublic.model_validate(o._asdict()) for o in opened],
    )
