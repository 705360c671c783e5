"""A correlation id longer than the stored column never stops the customer being asked."""

import uuid

from services.confirmation.models import CORRELATION_ID_WIDTH
from tests.support.confirmation import (
    complaint_received,
    confirmation_service,
    resolution_proposed,
)
from tests.support.env import Database, TestEnv


async def test_a_long_correlation_id_still_asks_the_customer(
    env: TestEnv, database: Database
) -> None:
    long_id = "c" * 300
    async with confirmation_service(env, database) as h, env.probe("confirmation.#") as probe:
        complaint = complaint_received(str(uuid.uuid4()), "email", "Ana.Lima@example.com")
        assert complaint.complaint_id is not None
        await h.bus.publish(complaint.model_copy(update={"correlation_id": long_id}))
        proposal = resolution_proposed(complaint.complaint_id)
        await h.bus.publish(proposal.model_copy(update={"correlation_id": long_id}))
        message, _ = await h.asked()
        requested = await probe.wait_for("confirmation.requested", complaint.complaint_id)
        view = await h.confirmations(complaint.complaint_id)
    [sent] = view["outbound"]
    assert sent["status"] == "sent"
    assert message["To"] == "Ana.Lima@example.com"
    # Traced back by the id's first characters: the column holds no more.
    assert requested.correlation_id == long_id[:CORRELATION_ID_WIDTH]
