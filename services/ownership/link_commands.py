"""A supervisor links related cases, merges a duplicate into the case of its matter, and takes a
merge back. Both stories stay: each case keeps its own timeline, and each names the other.

A merged case is not closed: the customer has not said yes to it. It stops being worked (its
SLA timer goes, it leaves its owner's queue and load) and closes when the case it was merged
into closes on the customer's yes, which covers its matter (answer_reactions.py). The cases
must be the same customer's, both open, the merged one without open tasks or a proposal out.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete

from services.ownership import organisation_store, timers
from services.ownership.case import Case
from services.ownership.commands import command_event
from services.ownership.domain import Status, actor, case_deadline, transition
from services.ownership.final_response_commands import answer_merged_case, final_response_of
from services.ownership.models import case_links
from services.ownership.queries import case_view
from services.ownership.repository import append, now, open_task_count, save_case, take_case
from services.ownership.schemas import CasePublic
from shared.auth import Principal
from shared.errors import Conflict, DomainError, NotFound
from shared.events import CaseMerged, CaseUnmerged
from shared.service import Runtime
from shared.statements import insert
from shared.uow import UnitOfWork


@dataclass(frozen=True)
class Pair:
    first: Case
    second: Case


async def _both(uow: UnitOfWork, case_id: str, other_id: str) -> Pair:
    """Both cases, locked in id order (two supervisors linking the pair both ways never
    deadlock), the same customer's."""
    if case_id == other_id:
        raise DomainError("same_case", "A case cannot be linked or merged with itself.", 422)
    locked = {cid: await take_case(uow.conn, cid) for cid in sorted((case_id, other_id))}
    pair = Pair(locked[case_id], locked[other_id])
    if pair.first.customer_key != pair.second.customer_key:
        raise Conflict(
            "different_customers",
            "The cases are different customers': merge or link only one customer's cases.",
        )
    return pair


async def link(rt: Runtime, case_id: str, other_id: str, reason: str, who: Principal) -> CasePublic:
    """Link two cases of one customer; linking them again changes nothing."""
    async with rt.uow() as uow:
        await _both(uow, case_id, other_id)
        low, high = sorted((case_id, other_id))
        stored = await uow.conn.execute(
            insert(uow.conn, case_links)
            .values(
                case_id=low, linked_id=high, reason=reason, linked_by=who.subject, linked_at=now()
            )
            .on_conflict_do_nothing()
        )
        if stored.rowcount:
            by = actor(who.role, who.subject)
            await append(uow.conn, case_id, "linked", by, {"case_id": other_id, "reason": reason})
            await append(uow.conn, other_id, "linked", by, {"case_id": case_id, "reason": reason})
        view = await case_view(uow.conn, case_id)
        await uow.commit()
    return view


async def unlink(rt: Runtime, case_id: str, other_id: str, who: Principal) -> CasePublic:
    async with rt.uow() as uow:
        await _both(uow, case_id, other_id)
        low, high = sorted((case_id, other_id))
        gone = await uow.conn.execute(
            delete(case_links).where(case_links.c.case_id == low, case_links.c.linked_id == high)
        )
        if not gone.rowcount:
            raise NotFound("link_not_found", f"Cases {case_id} and {other_id} are not linked.")
        by = actor(who.role, who.subject)
        await append(uow.conn, case_id, "unlinked", by, {"case_id": other_id})
        await append(uow.conn, other_id, "unlinked", by, {"case_id": case_id})
        view = await case_view(uow.conn, case_id)
        await uow.commit()
    return view


async def merge(rt: Runtime, case_id: str, into: str, reason: str, who: Principal) -> CasePublic:
    """Fold `case_id` into `into`: it is worked and closed there."""
    async with rt.uow() as uow:
        pair = await _both(uow, case_id, into)
        source, target = pair.first, pair.second
        status = transition("merge", source.status)
        if not target.is_open or target.status == Status.resolution_proposed:
            raise Conflict(
                "target_not_open",
                f"Case {into} is {target.status.value}: merge into a case that is being worked.",
            )
        if target.merged_into is not None:
            raise Conflict("target_merged", f"Case {into} is itself merged into another.")
        if open_count := await open_task_count(uow.conn, case_id):
            raise Conflict("open_tasks", f"{open_count} department task(s) are still open.")
        await save_case(uow.conn, case_id, status=status, merged_into=into)
        await timers.cancel(uow.conn, case_id)
        by = actor(who.role, who.subject)
        detail = {"into": into, "reason": reason, "reference": target.reference}
        await append(uow.conn, case_id, "merged_into", by, {**detail, "status": status})
        merged = {"case_id": case_id, "reason": reason, "reference": source.reference}
        await append(uow.conn, into, "case_merged", by, merged)
        if (answered := await final_response_of(uow.conn, into)) is not None:
            await answer_merged_case(uow, case_id, target.reference, answered)
        data = CaseMerged(into=into, reason=reason, by=who.subject)
        uow.emit(command_event("case.merged", data, case_id))
        view = await case_view(uow.conn, case_id)
        await uow.commit()
    return view


async def unmerge(rt: Runtime, case_id: str, reason: str, who: Principal) -> CasePublic:
    """Take a merge back: the case is worked on its own again, its SLA planned from now."""
    async with rt.uow() as uow:
        case = await take_case(uow.conn, case_id)
        status = transition("unmerge", case.status)
        was_in = str(case.merged_into)
        at: datetime = now()
        policy = await organisation_store.case_policy(uow.conn)
        when = case_deadline(policy, at, case.priority)
        await timers.plan(uow.conn, "case", case_id, case_id, when)
        await save_case(
            uow.conn,
            case_id,
            status=status,
            merged_into=None,
            sla_started_at=at,
            due_at=when.due_at,
        )
        by = actor(who.role, who.subject)
        detail = {"from_case": was_in, "reason": reason, "status": status}
        await append(uow.conn, case_id, "unmerged", by, detail)
        await append(uow.conn, was_in, "case_unmerged", by, {"case_id": case_id, "reason": reason})
        data = CaseUnmerged(from_case=was_in, reason=reason, by=who.subject)
        uow.emit(command_event("case.unmerged", data, case_id))
        view = await case_view(uow.conn, case_id)
        await uow.commit()
    return view
