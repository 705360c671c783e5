"""The owner's way out of a proposal the customer cannot or did not answer: re-ask or withdraw.

Both act on the proposal standing now and give it up: re-asking puts the same outcome and
summary to the customer again under the next proposal number (confirmation retires the old
request, so its token is dead, and sends a new one on the same channel); withdrawing takes the
case back to `in_progress` and confirmation retires the request, so a late yes changes nothing.
Like every owner command they lock the case and honour an Idempotency-Key.
"""

from services.ownership.case import Case
from services.ownership.commands import CASE_ANSWER, command_event, owned_case
from services.ownership.domain import actor, transition
from services.ownership.queries import case_view
from services.ownership.repository import append, keyed, save_case
from services.ownership.schemas import CasePublic, ReaskCreate, WithdrawCreate
from shared.auth import Principal
from shared.events import CaseConfirmationReasked, CaseResolutionWithdrawn
from shared.idempotency import once
from shared.service import Runtime
from shared.uow import UnitOfWork


async def reask(
    rt: Runtime, case_id: str, body: ReaskCreate, who: Principal, key: str | None
) -> tuple[CasePublic, bool]:
    """Ask the customer again, with a new token on the same channel; the old one dies."""

    async def ask_again(uow: UnitOfWork, case: Case) -> CasePublic:
        status = transition("reask", case.status)
        previous, number = case.proposal_no, case.proposal_no + 1
        await save_case(uow.conn, case_id, status=status, proposal_no=number)
        detail = {"proposal_no": number, "previous_proposal_no": previous, "note": body.note}
        await append(uow.conn, case_id, "resolution_reasked", actor(who.role, who.subject), detail)
        data = CaseConfirmationReasked(
            owner_id=case.owner_id,
            outcome=case.proposed_outcome,
            summary=case.resolution_summary,
            proposal_no=number,
            previous_proposal_no=previous,
        )
        uow.emit(command_event("case.confirmation_reasked", data, case_id))
        return await case_view(uow.conn, case_id)

    request = keyed(f"reask:{case_id}", key, body)
    return await once(rt.uow, request, ask_again, CASE_ANSWER, guard=owned_case(case_id, who))


async def withdraw(
    rt: Runtime, case_id: str, body: WithdrawCreate, who: Principal, key: str | None
) -> tuple[CasePublic, bool]:
    """Take the proposal back: the case is worked on again, and the customer's answer is void."""

    async def take_back(uow: UnitOfWork, case: Case) -> CasePublic:
        status = transition("withdraw_resolution", case.status)
        number = case.proposal_no
        # The number stays: the next proposal takes the one after it, so no two asks share one.
        await save_case(
            uow.conn, case_id, status=status, proposed_outcome=None, resolution_summary=None
        )
        detail = {
            "proposal_no": number,
            "reason": body.reason,
            "outcome": case.proposed_outcome,
            "summary": case.resolution_summary,
            "status": status,
        }
        await append(
            uow.conn, case_id, "resolution_withdrawn", actor(who.role, who.subject), detail
        )
        data = CaseResolutionWithdrawn(proposal_no=number, reason=body.reason)
        uow.emit(command_event("case.resolution_withdrawn", data, case_id))
        return await case_view(uow.conn, case_id)

    request = keyed(f"withdraw:{case_id}", key, body)
    return await once(rt.uow, request, take_back, CASE_ANSWER, guard=owned_case(case_id, who))
