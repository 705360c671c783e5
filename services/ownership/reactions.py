"""Use cases driven by intake and escalation: a complaint becomes a case, priorities, follow-ups.

Each runs inside the dispatcher's unit of work, which commits after it returns; raising makes the
broker redeliver, which is what a case that has not arrived yet needs.
"""

from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.ownership import organisation_store, timers
from services.ownership.domain import (
    Needs,
    Status,
    case_deadline,
    keeps_previous_owner,
    normalise_key,
    pick_owner,
    transition,
)
from services.ownership.models import cases, pending_priorities
from services.ownership.repository import append, load_case, lock_case, now, save_case, take_case
from shared.events import (
    CaseAssigned,
    CaseEscalated,
    ComplaintContactAdded,
    ComplaintContactSplit,
    ComplaintPrioritized,
    ComplaintReceived,
    CustomerMessageReceived,
    CustomerSatisfactionGiven,
    Envelope,
    new_event,
)
from shared.statements import lock_key, upsert
from shared.timestamps import as_utc
from shared.uow import UnitOfWork

PRODUCER = "ownership"


def case_id_of(envelope: Envelope) -> str:
    if not envelope.complaint_id:
        raise ValueError(f"{envelope.type} {envelope.event_id} carries no complaint_id")
    return envelope.complaint_id


def caused_event(type_: str, data: Any, case_id: str, cause: Envelope) -> Envelope:
    return new_event(type_, data, producer=PRODUCER, complaint_id=case_id, cause=cause)


async def open_case(uow: UnitOfWork, envelope: Envelope) -> bool:
    """Create the case and give it exactly one owner, in the same transaction; False: it was."""
    data, case_id, conn = envelope.parsed(), case_id_of(envelope), uow.conn
    assert isinstance(data, ComplaintReceived)
    await lock_key(conn, f"case:{case_id}")
    if await load_case(conn, case_id) is not None:
        return False
    policy = await organisation_store.case_policy(conn)
    team, owner_id, rule = await _assign(conn, data, case_id, policy.continuity_days)
    pending = await _take_pending(conn, case_id)
    started, at = as_utc(data.received_at), now()
    priority = pending.priority if pending else None
    when = case_deadline(policy, started, priority)
    due_at = when.due_at
    status = transition("assign", Status.received)
    await conn.execute(
        cases.insert().values(
            id=case_id,
            reference=data.reference,
            channel=data.channel.value,
            category=data.category,
            product=data.product,
            region=data.region,
            customer_key=data.customer_key,
            language=data.language,
            customer_clock_started_at=started,
            status=status,
            owner_id=owner_id,
            team_id=team,
            priority=priority,
            priority_reasons=list(pending.reasons) if pending else [],
            sla_started_at=started,
            due_at=due_at,
            proposal_no=0,
            reopen_count=0,
            lock_version=0,
            created_at=at,
            updated_at=at,
        )
    )
    await timers.plan(conn, "case", case_id, case_id, when)
    received = {"status": Status.received, "channel": data.channel.value, "category": data.category}
    await append(conn, case_id, "received", "customer", received, at=started)
    assigned = {"status": status, "owner_id": owner_id, "team": team, "rule": rule}
    await append(conn, case_id, "assigned", "system", {**assigned, "due_at": due_at.isoformat()})
    if pending:
        detail = {"priority": priority, "reasons": pending.reasons, "due_at": due_at.isoformat()}
        await append(conn, case_id, "prioritized", pending.producer, detail)
    assignment = CaseAssigned(owner_id=owner_id, team=team, due_at=due_at)
    uow.emit(caused_event("case.assigned", assignment, case_id, envelope))
    return True


async def _assign(
    conn: AsyncConnection, data: ComplaintReceived, case_id: str, continuity_days: float
) -> tuple[str, str, str]:
    """(team, owner, rule used); assignments within a team are serialised so loads stay true."""
    needs = Needs(
        frozenset(normalise_key(k) for k in (data.category, data.product) if k),
        data.language,
    )
    since = as_utc(data.received_at) - timedelta(days=continuity_days)
    known = await organisation_store.previous_owner(conn, data.customer_key, since, case_id)
    found = await organisation_store.owner_candidate(conn, known) if known is not None else None
    if found is not None and keeps_previous_owner(found[0], needs):
        previous, previous_team = found
        await lock_key(conn, f"team:{previous_team}")
        return previous_team, previous.owner_id, "same_owner_as_before"
    team = await organisation_store.team_for(conn, data.category, data.product)
    await lock_key(conn, f"team:{team}")
    pool, lead = await organisation_store.candidates(conn, team)
    owner_id, rule = pick_owner(pool, lead, needs)
    return team, owner_id, rule


async def _take_pending(conn: AsyncConnection, case_id: str) -> Any:
    """A priority that arrived before its complaint, removed as it is applied."""
    where = pending_priorities.c.case_id == case_id
    pending = (await conn.execute(select(pending_priorities).where(where))).first()
    if pending is not None:
        await conn.execute(delete(pending_priorities).where(where))
    return pending


async def prioritize(uow: UnitOfWork, envelope: Envelope) -> None:
    """Set the priority and its SLA; kept aside when it overtakes the complaint it is about."""
    data, case_id, conn = envelope.parsed(), case_id_of(envelope), uow.conn
    assert isinstance(data, ComplaintPrioritized)
    await lock_key(conn, f"case:{case_id}")
    if not await lock_case(conn, case_id):
        row = {
            "case_id": case_id,
            "priority": data.priority,
            "reasons": list(data.reasons),
            "event_id": envelope.event_id,
            "producer": envelope.producer,
            "received_at": now(),
        }
        await upsert(conn, pending_priorities, [row])
        return
    case = await load_case(conn, case_id)
    assert case is not None
    policy = await organisation_store.case_policy(conn)
    due_at = case.due_at
    if case.is_open:
        when = case_deadline(policy, case.sla_started_at, data.priority)
        due_at = when.due_at
        await timers.plan(conn, "case", case_id, case_id, when)
    await save_case(
        conn, case_id, priority=data.priority, priority_reasons=list(data.reasons), due_at=due_at
    )
    detail = {
        "priority": data.priority,
        "previous": case.priority,
        "reasons": list(data.reasons),
        "due_at": due_at.isoformat() if due_at else None,
    }
    actor = envelope.producer
    if data.overridden_by:
        detail["overridden_by"] = data.overridden_by
        actor = f"supervisor:{data.overridden_by}"
    await append(conn, case_id, "prioritized", actor, detail)


async def note_escalation(uow: UnitOfWork, envelope: Envelope) -> None:
    """An escalation about the case goes on its timeline: who was told, at which rung, why.

    One about an audit is not: the owner must not learn who audits the case or when.
    """
    data = envelope.parsed()
    assert isinstance(data, CaseEscalated)
    if envelope.complaint_id is None or data.subject == "audit":
        return
    case_id = envelope.complaint_id
    await take_case(uow.conn, case_id)
    detail = {"level": data.level, "to": data.to, "reason": data.reason, "subject": data.subject}
    if data.subject_id:
        detail["subject_id"] = data.subject_id
    if data.department:
        detail["department"] = data.department
    await append(uow.conn, case_id, "escalated", "escalation", detail)


async def add_contact(uow: UnitOfWork, envelope: Envelope) -> None:
    """A follow-up joins the case's history and tells the owner; it never changes the status.

    It comes through intake (the customer called or wrote again) or from confirmation (a reply
    on the customer's channel that answered no question).
    """
    data, case_id = envelope.parsed(), case_id_of(envelope)
    if isinstance(data, CustomerMessageReceived):
        contact_id, via = data.inbound_id, "reply"
    else:
        assert isinstance(data, ComplaintContactAdded)
        contact_id, via = data.contact_id, "intake"
    case = await take_case(uow.conn, case_id)
    detail = {"channel": data.channel.value, "text": data.text, "contact_id": contact_id}
    await append(uow.conn, case_id, "contact_added", "customer", {**detail, "via": via})
    wrote_at = as_utc(data.received_at)
    if case.customer_wrote_at is None or wrote_at > case.customer_wrote_at:
        await save_case(uow.conn, case_id, customer_wrote_at=wrote_at)


async def note_satisfaction(uow: UnitOfWork, envelope: Envelope) -> None:
    """The customer's answer to "how did we do?": on the timeline; the closure stays as it is."""
    data, case_id = envelope.parsed(), case_id_of(envelope)
    assert isinstance(data, CustomerSatisfactionGiven)
    await take_case(uow.conn, case_id)
    detail = {"score": data.score, "comment": data.comment, "channel": data.channel.value}
    await append(uow.conn, case_id, "satisfaction_given", "customer", detail, data.answered_at)


async def note_split(uow: UnitOfWork, envelope: Envelope) -> None:
    """A follow-up of this case was another matter: where it went, on the timeline."""
    data, case_id = envelope.parsed(), case_id_of(envelope)
    assert isinstance(data, ComplaintContactSplit)
    await take_case(uow.conn, case_id)
    detail = {"contact_id": data.contact_id, "into": data.into, "reason": data.reason}
    await append(uow.conn, case_id, "contact_split", f"supervisor:{data.by}", detail)
