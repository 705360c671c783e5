"""A request's life follows the case: superseded by a new proposal, ended by close or reopen."""

import asyncio

from sqlalchemy import select

from services.confirmation.models import inbox
from shared.events import CaseClosed, CaseReopened, CaseResolutionWithdrawn, new_event
from tests.support.confirmation import Harness, confirmation_service
from tests.support.env import Database, TestEnv


async def handled(h: Harness, *event_ids: str) -> None:
    """Wait until confirmation has committed its handling of these events."""
    query = select(inbox.c.event_id).where(inbox.c.event_id.in_(event_ids))
    for _ in range(200):
        async with h.app.state.engine.connect() as conn:
            if len((await conn.execute(query)).all()) == len(event_ids):
                return
        await asyncio.sleep(0.05)
    raise AssertionError(f"events {event_ids} were never handled")


async def test_new_proposal_supersedes_the_pending_request(
    env: TestEnv, database: Database
) -> None:
    async with confirmation_service(env, database) as h:
        complaint_id = await h.complaint()
        await h.propose(complaint_id, proposal_no=1)
        first, _ = await h.asked()
        await h.propose(complaint_id, proposal_no=2, summary="We also waived the fee.")
        second, _ = await h.asked()
        await h.reply(first, "Yes")
        view = await h.confirmations(complaint_id)
        assert [r["status"] for r in view["requests"]] == ["superseded", "pending"]
        assert view["inbound"][-1]["reason"] == "token_used"
        await h.reply(second, "Yes")
        assert (await h.emitted(complaint_id)).count("confirmation.confirmed") == 1


async def test_closed_case_closes_its_request(env: TestEnv, database: Database) -> None:
    async with confirmation_service(env, database) as h, env.probe("confirmation.#") as probe:
        complaint_id = await h.complaint()
        await h.propose(complaint_id)
        asked, _ = await h.asked()
        await h.reply(asked, "Yes, it is resolved")
        confirmed = await probe.wait_for("confirmation.confirmed", complaint_id)
        closed = CaseClosed(
            request_id=confirmed.data["request_id"], reason="confirmed", outcome="resolved"
        )
        await h.bus.publish(
            new_event("case.closed", closed, producer="ownership", complaint_id=complaint_id)
        )
        view = await h.view_when(complaint_id, lambda v: v["requests"][0]["status"] == "closed")
        assert view["requests"][0]["answer"] == "yes"
        await h.reply(asked, "Yes")
        assert (await h.confirmations(complaint_id))["inbound"][-1]["reason"] == "token_used"


async def test_reopened_case_retires_the_open_request(env: TestEnv, database: Database) -> None:
    async with confirmation_service(env, database) as h:
        complaint_id = await h.complaint()
        await h.propose(complaint_id)
        asked, _ = await h.asked()
        view = await h.view_when(complaint_id, lambda v: v["outbound"][0]["status"] == "sent")
        reopened = CaseReopened(
            request_id=view["requests"][0]["id"], reason="audit_found_unresolved", reopen_count=1
        )
        await h.bus.publish(
            new_event("case.reopened", reopened, producer="ownership", complaint_id=complaint_id)
        )
        view = await h.view_when(complaint_id, lambda v: v["requests"][0]["status"] == "closed")
        assert view["requests"][0]["closed_reason"] == "case_reopened"
        await h.reply(asked, "Yes")
        view = await h.confirmations(complaint_id)
        assert view["requests"][0]["status"] == "closed"
        assert view["inbound"][-1]["reason"] == "token_used"
        assert "confirmation.confirmed" not in await h.emitted(complaint_id)


async def test_late_reopen_of_one_proposal_leaves_the_next_proposals_request(
    env: TestEnv, database: Database
) -> None:
    async with confirmation_service(env, database) as h:
        complaint_id = await h.complaint()
        await h.propose(complaint_id, proposal_no=1)
        await h.asked()
        await h.propose(complaint_id, proposal_no=2, summary="We also waived the fee.")
        second, _ = await h.asked()
        view = await h.confirmations(complaint_id)
        by_number = {r["proposal_no"]: r["id"] for r in view["requests"]}
        late = CaseReopened(
            request_id=by_number[1], reason="customer rejected", reopen_count=1, proposal_no=1
        )
        reopened = new_event("case.reopened", late, producer="ownership", complaint_id=complaint_id)
        await h.bus.publish(reopened)
        # A late proposal 1 arriving after proposal 2 asks nothing and supersedes nothing.
        stale = await h.propose(complaint_id, proposal_no=1)
        await handled(h, reopened.event_id, stale.event_id)
        await h.reply(second, "Yes, all sorted")
        view = await h.view_when(
            complaint_id, lambda v: any(r["status"] == "confirmed" for r in v["requests"])
        )
        emitted = await h.emitted(complaint_id)
    statuses = {r["proposal_no"]: r["status"] for r in view["requests"]}
    assert statuses == {1: "superseded", 2: "confirmed"}
    assert view["inbound"][-1]["reason"] is None
    assert emitted.count("confirmation.confirmed") == 1


async def test_withdrawal_retires_only_its_proposals_request(
    env: TestEnv, database: Database
) -> None:
    async with confirmation_service(env, database) as h:
        complaint_id = await h.complaint()
        await h.propose(complaint_id, proposal_no=1)
        asked, _ = await h.asked()
        withdrawn = CaseResolutionWithdrawn(proposal_no=1, reason="the refund is not final")
        await h.bus.publish(
            new_event(
                "case.resolution_withdrawn",
                withdrawn,
                producer="ownership",
                complaint_id=complaint_id,
            )
        )
        view = await h.view_when(complaint_id, lambda v: v["requests"][0]["status"] == "closed")
        await h.reply(asked, "Yes")
        after = await h.view_when(complaint_id, lambda v: len(v["inbound"]) == 1)
        emitted = await h.emitted(complaint_id)
    assert view["requests"][0]["closed_reason"] == "resolution_withdrawn: the refund is not final"
    assert after["inbound"][0]["reason"] == "token_used"
    assert "confirmation.confirmed" not in emitted
