"""What confirmation holds of a customer: where and what we wrote to them, what they answered,
the auditor's notes, the comment of their satisfaction answer. Erased on
`customer.erasure_requested`; read for a subject access request."""

from sqlalchemy.ext.asyncio import AsyncConnection

from services.confirmation.models import (
    audits,
    complaints,
    inbound_messages,
    outbound_messages,
    page_opens,
    requests,
    surveys,
)
from shared.erasure import Holding, erase_holdings

HOLDINGS = (
    Holding(complaints, "id", ("contact",)),
    Holding(requests, "complaint_id", ("contact", "summary")),
    Holding(outbound_messages, "complaint_id", ("recipient", "subject", "body", "last_error")),
    Holding(
        inbound_messages,
        "complaint_id",
        ("sender", "envelope_sender", "subject", "text", "evidence_ref"),
    ),
    Holding(page_opens, "complaint_id", ("ip_hash", "user_agent_hash")),
    Holding(audits, "complaint_id", ("notes",)),
    Holding(surveys, "complaint_id", ("comment",)),
)


async def erase(conn: AsyncConnection, complaint_ids: list[str]) -> int:
    return await erase_holdings(conn, HOLDINGS, complaint_ids)
