"""Escalation keeps no names or addresses: priorities, incidents and patterns are anonymous
(categories, products, regions, counts). What it erases is the complaints' event payloads in its
outbox (see shared.erasure) and responses stored for idempotency that name a complaint."""

from sqlalchemy.ext.asyncio import AsyncConnection

from services.escalation.models import idempotency_keys, priorities
from shared.erasure import Holding, mask_stored_responses

# Read for a subject access request; nothing in it is masked.
HOLDINGS = (Holding(priorities, "complaint_id", ()),)


async def erase(conn: AsyncConnection, complaint_ids: list[str]) -> int:
    return await mask_stored_responses(conn, idempotency_keys, complaint_ids)
