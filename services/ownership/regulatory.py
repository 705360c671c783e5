"""The regulator's profile applied to a case as it opens: its clocks planned, announced, on the
timeline. A clock that stops on assignment stops at once, because ownership opens and assigns a
case in one transaction (and confirmation acknowledges it to the customer on that event).
"""

import uuid
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.ownership.models import timeline, timers
from services.ownership.policies import PolicyProfiles, clock_times, select_profile
from services.ownership.reactions import PRODUCER, caused_event
from services.ownership.repository import append, now
from shared.events import (
    CasePolicyApplied,
    ComplaintReceived,
    Envelope,
    RegulatoryClock,
    RegulatoryClockEvent,
    new_event,
)
from shared.timestamps import as_utc
from shared.uow import UnitOfWork


async def apply_policy(
    uow: UnitOfWork, envelope: Envelope, data: ComplaintReceived, policies: PolicyProfiles
) -> None:
    case_id = str(envelope.complaint_id)
    # Intake does not send a customer type yet; an event that carries one is matched on it.
    customer_type = (data.model_extra or {}).get("customer_type")
    profile_id, rule = select_profile(
        policies,
        product=data.product,
        region=data.region,
        channel=data.channel.value,
        customer_type=customer_type if isinstance(customer_type, str) else None,
    )
    profile, started = policies.profiles[profile_id], as_utc(data.received_at)
    clocks: list[RegulatoryClock] = []
    stopped: list[RegulatoryClock] = []
    for name, config in profile.clocks.items():
        warning_at, due_at = clock_times(config, started, policies.calendar(config.calendar))
        clock = RegulatoryClock(
            clock=name, started_at=started, due_at=due_at, warning_at=warning_at
        )
        clocks.append(clock)
        if "assigned" in config.stops_on:
            stopped.append(clock)
        else:
            await _plan(uow.conn, case_id, profile_id, clock)
    detail: dict[str, Any] = {
        "profile": profile_id,
        "rule": rule,
        "clocks": [
            {**c.model_dump(mode="json"), "stops_on": profile.clocks[c.clock].stops_on}
            for c in clocks
        ],
    }
    await append(uow.conn, case_id, "policy_applied", "system", detail)
    applied = CasePolicyApplied(profile=profile_id, clocks=clocks)
    uow.emit(caused_event("case.policy_applied", applied, case_id, envelope))
    for clock in stopped:
        await _stop(uow, envelope, case_id, profile_id, clock, "assigned")


async def _stop(
    uow: UnitOfWork,
    envelope: Envelope | None,
    case_id: str,
    profile: str,
    clock: RegulatoryClock,
    step: str,
) -> None:
    at = now()
    data = RegulatoryClockEvent(
        profile=profile,
        clock=clock.clock,
        started_at=clock.started_at,
        due_at=clock.due_at,
        at=at,
    )
    detail = {"profile": profile, "clock": clock.clock, "step": step, "in_time": at <= clock.due_at}
    await append(uow.conn, case_id, "regulatory_stopped", "system", detail)
    uow.emit(
        new_event(
            "regulatory.stopped",
            data,
            producer=PRODUCER,
            complaint_id=case_id,
            cause=envelope,
            routing_suffix=profile,
        )
    )


CLOCK = "clock"  # the timers' subject for a regulator's clock


def timer_key(profile: str, clock: str) -> str:
    """Kept in the timer's `department` column: a clock timer has no department."""
    return f"{profile}/{clock}"


async def _plan(conn: AsyncConnection, case_id: str, profile: str, clock: RegulatoryClock) -> None:
    """A warning and a breach timer, fired by the SLA timer loop exactly like SLA timers."""
    base = {
        "subject": CLOCK,
        "subject_id": str(uuid.uuid4()),
        "case_id": case_id,
        "department": timer_key(profile, clock.clock),
        "sla_due_at": clock.due_at,
        "created_at": now(),
    }
    rows = [{**base, "kind": "breach", "due_at": clock.due_at}]
    if clock.warning_at is not None:
        rows.append({**base, "kind": "warning", "due_at": clock.warning_at})
    await conn.execute(timers.insert(), rows)


EVENT_TYPE = {"warning": "regulatory.warning", "breach": "regulatory.breached"}
TIMELINE_KIND = {"warning": "regulatory_warning", "breach": "regulatory_breached"}


async def fired(conn: AsyncConnection, timer: dict[str, Any], at: Any) -> Envelope:
    """The event of a clock timer that fired, with its timeline entry, in the firing transaction."""
    profile, _, clock = str(timer["department"]).partition("/")
    started = await _started_at(conn, timer["case_id"], clock)
    data = RegulatoryClockEvent(
        profile=profile,
        clock=clock,
        started_at=started,
        due_at=as_utc(timer["sla_due_at"]),
        at=as_utc(at),
    )
    detail = {"profile": profile, "clock": clock, "due_at": data.due_at.isoformat()}
    await append(conn, timer["case_id"], TIMELINE_KIND[timer["kind"]], "system", detail)
    return new_event(
        EVENT_TYPE[timer["kind"]],
        data,
        producer=PRODUCER,
        complaint_id=timer["case_id"],
        routing_suffix=profile,
    )


async def _applied(conn: AsyncConnection, case_id: str) -> dict[str, Any] | None:
    detail = await conn.scalar(
        select(timeline.c.detail)
        .where(timeline.c.case_id == case_id, timeline.c.kind == "policy_applied")
        .order_by(timeline.c.id)
        .limit(1)
    )
    return dict(detail) if detail else None


async def _started_at(conn: AsyncConnection, case_id: str, clock: str) -> Any:
    applied = await _applied(conn, case_id) or {"clocks": []}
    for entry in applied["clocks"]:
        if entry["clock"] == clock:
            return _clock(entry).started_at
    raise LookupError(f"case {case_id} has no clock {clock}")


async def reach_step(uow: UnitOfWork, case_id: str, step: str, cause: Envelope | None) -> None:
    """The case reached `step`: every running clock that stops on it stops, its timers go."""
    applied = await _applied(uow.conn, case_id)
    if applied is None:
        return  # opened before profiles existed
    profile = str(applied["profile"])
    for entry in applied["clocks"]:
        if step not in entry.get("stops_on", []):
            continue
        removed = await uow.conn.execute(
            delete(timers).where(
                timers.c.case_id == case_id,
                timers.c.subject == CLOCK,
                timers.c.department == timer_key(profile, entry["clock"]),
                timers.c.fired_at.is_(None),
                timers.c.kind == "breach",
            )
        )
        if not removed.rowcount:
            continue  # stopped before, or breached already
        await uow.conn.execute(
            delete(timers).where(
                timers.c.case_id == case_id,
                timers.c.subject == CLOCK,
                timers.c.department == timer_key(profile, entry["clock"]),
                timers.c.fired_at.is_(None),
            )
        )
        await _stop(uow, cause, case_id, profile, _clock(entry), step)


def _clock(entry: dict[str, Any]) -> RegulatoryClock:
    """A clock of the `policy_applied` entry, which also lists the steps it stops on."""
    return RegulatoryClock.read({k: v for k, v in entry.items() if k != "stops_on"})
