"""The owner writes to the customer: on the case's own channel, in the customer's language.

It asks nothing and closes nothing. Ownership records it on the timeline and announces
`case.message_sent`; confirmation words it (template and text, EN or ZH) and sends it through
the same outbound path as every other message, quiet hours and rate limits included. The
customer's reply comes back as `customer.message_received` and joins the timeline.
"""

import uuid
from typing import Any

from services.ownership.case import Case
from services.ownership.commands import command_event, managed_case
from services.ownership.domain import actor
from services.ownership.repository import append, keyed, now
from services.ownership.schemas import MessageCreate, MessagePublic
from shared.auth import Principal
from shared.errors import Conflict
from shared.events import MESSAGE_CHANNELS, CaseMessageSent, Channel
from shared.idempotency import once, stored_model
from shared.service import Runtime
from shared.uow import UnitOfWork

MESSAGE_ANSWER = stored_model(MessagePublic)


async def send_message(
    rt: Runtime, case_id: str, body: MessageCreate, who: Principal, key: str | None
) -> tuple[MessagePublic, bool]:
    """The case's owner (or a supervisor) writes to the customer of an open case."""

    async def write(uow: UnitOfWork, case: Case) -> MessagePublic:
        if not case.is_open:
            raise Conflict("case_closed", "The case is closed: the customer has answered.")
        if Channel(case.channel) not in MESSAGE_CHANNELS:
            raise Conflict(
                "channel_carries_no_messages",
                f"A {case.channel} complaint is answered in person: record what was said.",
                channel=case.channel,
            )
        data = CaseMessageSent(
            message_id=str(uuid.uuid4()),
            owner_id=case.owner_id,
            template=body.template,
            text=body.text,
            language=body.language or case.language,
            sent_at=now(),
        )
        detail: dict[str, Any] = data.model_dump(mode="json", exclude={"owner_id", "sent_at"})
        await append(uow.conn, case_id, "message_sent", actor(who.role, who.subject), detail)
        uow.emit(command_event("case.message_sent", data, case_id))
        return MessagePublic(
            case_id=case_id, channel=case.channel, **data.model_dump(exclude={"owner_id"})
        )

    request = keyed(f"message:{case_id}", key, body)
    return await once(rt.uow, request, write, MESSAGE_ANSWER, guard=managed_case(case_id, who))
