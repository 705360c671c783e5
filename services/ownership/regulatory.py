"""The regulator's profile applied to a case as it opens: its clocks planned, announced, on the
timeline. A clock that stops on assignment stops at once, because ownership opens and assigns a
case in one transaction (and confirmation acknowledges it to the customer on that event).
"""

from typing import Any

from services.ownership.domain import as_utc
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
    detail: dict[str, Any] = {
        "profile": profile_id,
        "rule": rule,
        "clocks": [c.model_dump(mode="json") for c in clocks],
    }
    await append(uow.conn, case_id, "policy_applied", "system", detail)
    applied = CasePolicyApplied(profile=profile_id, clocks=clocks)
    uow.emit(caused_event("case.policy_applied", applied, case_id, envelope))
    for clock in stopped:
        await _stop(uow, envelope, case_id, profile_id, clock, "assigned")


async def _stop(
    uow: UnitOfWork,
    envelope: Envelope,
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
