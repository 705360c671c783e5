"""A request's life follows the case: superseded by a new proposal, ended by close or reopen."""

from shared.events import CaseClosed, CaseReopened, new_event
from tests.service.test_confirmation import confirmation_service


async def test_new_proposal_supersedes_the_pending_request(env, database) -> None:  # type: ignore[no-untyped-def]
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


async def test_closed_case_closes_its_request(env, database) -> None:  # type: ignore[no-untyped-def]
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


async def test_reopened_case_retires_the_open_request(env, database) -> None:  # type: ignore[no-untyped-def]
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
