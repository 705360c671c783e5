"""The final response: the owner's (or a supervisor's) answer with the customer's referral rights.

It stops the clocks that stop on it and never closes the case: the customer's yes still decides.
One per case; an Idempotency-Key replays the first answer.
"""

from typing import Any

from sqlalchemy import select

from services.ownership import regulatory
from services.ownership.case import Case
from services.ownership.commands import CASE_ANSWER, command_event, not_owner
from services.ownership.domain import Status, actor
from services.ownership.models import cases, timeline
from services.ownership.policies import PolicyProfiles
from services.ownership.queries import case_view
from services.ownership.repository import append, keyed, now, take_case
from services.ownership.schemas import CasePublic, FinalResponseCreate
from shared.auth import Principal
from shared.errors import Conflict
from shared.events import CaseFinalResponseSent
from shared.idempotency import once
from shared.service import Runtime
from shared.uow import UnitOfWork


async def send_final_response(
    rt: Runtime,
    case_id: str,
    body: FinalResponseCreate,
    who: Principal,
    key: str | None,
    policies: PolicyProfiles,
) -> tuple[CasePublic, bool]:

    async def guard(uow: UnitOfWork) -> Case:
        case = await take_case(uow.conn, case_id)
        if who.role != "supervisor" and who.subject != case.owner_id:
            raise not_owner(case.owner_id)
        return case

    async def send(uow: UnitOfWork, case: Case) -> CasePublic:
        if case.status == Status.merged:
            raise Conflict(
                "case_merged",
                f"The case is merged into {case.merged_into}: the final response sent there "
                "answers both.",
            )
        if not case.is_open:
            raise Conflict("case_closed", "The case is closed: the customer has answered.")
        sent = await uow.conn.scalar(
            select(timeline.c.id).where(
                timeline.c.case_id == case_id, timeline.c.kind == "final_response_sent"
            )
        )
        if sent is not None:
            raise Conflict("final_response_already_sent", "This case has its final response.")
        profile = await _profile_of(uow.conn, case_id, policies)
        data = CaseFinalResponseSent(
            owner_id=case.owner_id,
            profile=profile,
            outcome=body.outcome,
            reasons=body.reasons,
            referral_rights=policies.profiles[profile].referral_rights
            if profile in policies.profiles
            else policies.profiles[policies.default].referral_rights,
            language=body.language or case.language,
            sent_at=now(),
        )
        detail = data.model_dump(mode="json")
        await append(uow.conn, case_id, "final_response_sent", actor(who.role, who.subject), detail)
        uow.emit(command_event("case.final_response_sent", data, case_id))
        await regulatory.reach_step(uow, case_id, "final_response", None)
        await answer_merged(uow, case_id, case.reference, detail)
        return await case_view(uow.conn, case_id)

    request = keyed(f"final_response:{case_id}", key, body)
    return await once(rt.uow, request, send, CASE_ANSWER, guard=guard)


async def answer_merged(
    uow: UnitOfWork, case_id: str, reference: str, detail: dict[str, Any]
) -> None:
    """The cases merged into this one are the same customer's same matter: its final response
    answers them too, so their final-response clocks stop with it (one message is sent)."""
    merged = await uow.conn.scalars(
        select(cases.c.id).where(cases.c.merged_into == case_id, cases.c.status == Status.merged)
    )
    for merged_id in list(merged):
        await answer_merged_case(uow, merged_id, reference, detail)


async def answer_merged_case(
    uow: UnitOfWork, merged_id: str, reference: str, detail: dict[str, Any]
) -> None:
    if await final_response_of(uow.conn, merged_id) is not None:
        return  # answered on its own before the merge
    entry = {**detail, "sent_with": reference}
    await append(uow.conn, merged_id, "final_response_sent", "system", entry)
    await regulatory.reach_step(uow, merged_id, "final_response", None)


async def final_response_of(conn: Any, case_id: str) -> dict[str, Any] | None:
    detail = await conn.scalar(
        select(timeline.c.detail).where(
            timeline.c.case_id == case_id, timeline.c.kind == "final_response_sent"
        )
    )
    return dict(detail) if detail else None


async def _profile_of(conn: Any, case_id: str, policies: PolicyProfiles) -> str:
    applied = await regulatory._applied(conn, case_id)
    return str(applied["profile"]) if applied else policies.default
