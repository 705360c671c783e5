"""Independent audits: a random sample of closed cases is checked by someone who is not the owner.

The auditor asks the customer whether the problem is really solved and records the outcome; a
failed audit is published as `audit.completed` and ownership reopens the case. An attested yes
has only the owner as witness, so attested closures are sampled at their own, higher rate
(every one by default). Who audits and by when is never published: `audit.requested` carries
neither, so nothing the owner can read names them. An audit still open at its due time is
escalated once (`audit.overdue`), by whichever replica claims it first.
"""

import random
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from services.confirmation import reply_matching
from services.confirmation.clock import Clock, system_clock
from services.confirmation.models import audits, requests
from services.confirmation.settings import ConfirmationRuntime, ConfirmationSettings
from shared.auth import Principal
from shared.errors import Conflict, Forbidden, NotFound
from shared.events import (
    AuditCompleted,
    AuditOverdue,
    AuditRequested,
    CaseClosed,
    Envelope,
    new_event,
)
from shared.logging import get_logger
from shared.loops import every
from shared.timestamps import as_utc
from shared.uow import UnitOfWork

log = get_logger(__name__)

PRODUCER = "confirmation"


def sampled(rng: random.Random, settings: ConfirmationSettings, attested: bool) -> bool:
    rate = settings.audit_attested_sample_rate if attested else settings.audit_sample_rate
    return rng.random() < rate


def choose_auditor(rng: random.Random, auditors: list[str], owner_id: str) -> str | None:
    """Anyone on the list but the owner: nobody audits their own case."""
    candidates = sorted({a for a in auditors if a != owner_id})
    return rng.choice(candidates) if candidates else None


async def maybe_audit(
    uow: UnitOfWork,
    envelope: Envelope,
    settings: ConfirmationSettings,
    rng: random.Random,
    now: datetime,
) -> None:
    data = envelope.parsed()
    assert isinstance(data, CaseClosed)
    if data.with_case or not sampled(rng, settings, data.attested):
        return  # a case closed with the one it was merged into is audited with that one
    request = (
        await uow.conn.execute(select(requests).where(requests.c.id == data.request_id))
    ).first()
    if request is None:
        log.warning("audit_skipped_unknown_request", request_id=data.request_id)
        return
    owner = await reply_matching.current_owner(uow, request)
    auditor = choose_auditor(rng, settings.auditor_ids, owner)
    if auditor is None:
        log.warning("audit_skipped_no_auditor", complaint_id=envelope.complaint_id, owner=owner)
        return
    audit_id = str(uuid.uuid4())
    await uow.conn.execute(
        audits.insert().values(
            id=audit_id,
            complaint_id=envelope.complaint_id,
            request_id=data.request_id,
            owner_id=owner,
            auditor_id=auditor,
            attested=data.attested,
            status="open",
            created_at=now,
            due_at=now + timedelta(hours=settings.audit_due_hours),
        )
    )
    requested = AuditRequested(audit_id=audit_id, attested=data.attested)
    uow.emit(
        new_event(
            "audit.requested",
            requested,
            producer=PRODUCER,
            complaint_id=envelope.complaint_id,
            cause=envelope,
        )
    )
    log.info("audit_requested", audit_id=audit_id)


BATCH = 50


def overdue_watch(clock: Clock = system_clock) -> Any:
    async def watch_forever(rt: ConfirmationRuntime) -> None:
        seconds = rt.settings.audit_poll_seconds
        await every(seconds, lambda: escalate_overdue(rt, clock()), "audit_overdue_pass_failed")

    return watch_forever


async def escalate_overdue(rt: ConfirmationRuntime, now: datetime) -> int:
    """Escalate each open audit past its due time once; returns how many this replica did."""
    async with rt.engine.connect() as conn:
        due = (
            await conn.execute(
                select(audits.c.id)
                .where(
                    audits.c.status == "open",
                    audits.c.due_at <= now,
                    audits.c.escalated_at.is_(None),
                )
                .order_by(audits.c.due_at)
                .limit(BATCH)
            )
        ).scalars()
        ids = list(due)
    escalated = 0
    for audit_id in ids:
        async with rt.uow() as uow:
            # The claim: only the replica whose update matched still-unescalated emits the event.
            claimed = await uow.conn.execute(
                update(audits)
                .where(
                    audits.c.id == audit_id,
                    audits.c.status == "open",
                    audits.c.escalated_at.is_(None),
                )
                .values(escalated_at=now)
            )
            if claimed.rowcount != 1:
                continue
            audit = (await uow.conn.execute(select(audits).where(audits.c.id == audit_id))).one()
            overdue = AuditOverdue(
                audit_id=audit_id, attested=audit.attested, due_at=as_utc(audit.due_at)
            )
            uow.emit(
                new_event(
                    "audit.overdue", overdue, producer=PRODUCER, complaint_id=audit.complaint_id
                )
            )
            await uow.commit()
        escalated += 1
        log.warning("audit_overdue", audit_id=audit_id)
    return escalated


async def list_audits(
    rt: ConfirmationRuntime, who: Principal, status: str | None
) -> list[dict[str, Any]]:
    """An auditor (supervisor) sees the audits given to them; an admin sees all."""
    query = select(audits).order_by(audits.c.created_at)
    if status == "overdue":
        query = query.where(audits.c.status == "open", audits.c.escalated_at.is_not(None))
    elif status is not None:
        query = query.where(audits.c.status == status)
    if who.role != "admin":
        query = query.where(audits.c.auditor_id == who.subject)
    async with rt.engine.connect() as conn:
        return [row._asdict() for row in (await conn.execute(query)).all()]


async def record_result(
    rt: ConfirmationRuntime,
    audit_id: str,
    outcome: str,
    notes: str | None,
    who: Principal,
    now: datetime,
) -> dict[str, Any]:
    async with rt.uow() as uow:
        audit = (await uow.conn.execute(select(audits).where(audits.c.id == audit_id))).first()
        if audit is None:
            raise NotFound("audit_not_found", f"No audit {audit_id}.")
        if who.subject == audit.owner_id:
            raise Forbidden("owner_cannot_audit", "The case owner may not audit their own case.")
        if who.role != "admin" and who.subject != audit.auditor_id:
            raise Forbidden("not_the_auditor", f"Audit {audit_id} is assigned to another auditor.")
        if audit.status != "open":
            raise Conflict("audit_already_completed", f"Audit {audit_id} is {audit.status}.")
        changed = await uow.conn.execute(
            update(audits)
            .where(audits.c.id == audit_id, audits.c.status == "open")
            .values(status=outcome, notes=notes, completed_by=who.subject, completed_at=now)
        )
        if changed.rowcount != 1:
            raise Conflict("audit_already_completed", f"Audit {audit_id} is already completed.")
        completed = AuditCompleted(
            complaint_id=audit.complaint_id,
            outcome=outcome,
            audit_id=audit_id,
            auditor_id=who.subject,
            notes=notes,
            request_id=audit.request_id,
        )
        uow.emit(
            new_event(
                "audit.completed", completed, producer=PRODUCER, complaint_id=audit.complaint_id
            )
        )
        await uow.commit()
    row = await _reload(rt, audit_id)
    log.info("audit_completed", audit_id=audit_id, outcome=outcome)
    return row


async def _reload(rt: ConfirmationRuntime, audit_id: str) -> dict[str, Any]:
    async with rt.engine.connect() as conn:
        row = (await conn.execute(select(audits).where(audits.c.id == audit_id))).one()
    return dict(row._asdict())
