"""What ownership holds of a customer: the resolution's words, the timeline's details (contacts,
answers, attestation notes), the tasks' descriptions and notes, stored responses."""

from sqlalchemy.ext.asyncio import AsyncConnection

from services.ownership.models import cases, idempotency_keys, tasks, timeline
from services.ownership.queries import CLOCK_KINDS
from shared.erasure import Holding, erase_holdings, mask_stored_responses

HOLDINGS = (
    Holding(cases, "id", ("resolution_summary",)),
    Holding(timeline, "case_id", ("detail",), spare=("kind", CLOCK_KINDS)),
    Holding(tasks, "case_id", ("description", "note")),
)


async def erase(conn: AsyncConnection, complaint_ids: list[str]) -> int:
    changed = await erase_holdings(conn, HOLDINGS, complaint_ids)
    return changed + await mask_stored_responses(conn, idempotency_keys, complaint_ids)
