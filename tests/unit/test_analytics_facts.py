"""A complaint's facts from its events: same row whatever the order, never personal data."""

import itertools
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from services.analytics.domain import FactEvent, event_attributes
from services.analytics.projection.complaints import project
from shared.events import (
    CaseClosed,
    CaseResolutionProposed,
    ComplaintContactAdded,
    ComplaintReceived,
    ConfirmationAnswered,
    EventData,
    Facts,
    new_event,
)

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def fact(type_: str, hours: float, **attributes: Any) -> FactEvent:
    return FactEvent(str(uuid.uuid4()), type_, at(hours), attributes)


def lifecycle() -> list[FactEvent]:
    return [
        fact(
            "complaint.received",
            0.1,
            reference="CMP-AAAA",
            channel="email",
            category="billing",
            product="card",
            region="CA",
            received_at=at(0).isoformat(),
        ),
        fact("complaint.prioritized", 0.2, priority="P2"),
        fact("case.assigned", 1, owner_id="o-1", team="billing"),
        fact("case.resolution_proposed", 2, outcome="resolved", proposal_no=1),
        fact("confirmation.rejected", 3, channel="email", received_at=at(3).isoformat()),
        fact("case.reopened", 3.1, reopen_count=1),
        fact("case.reassigned", 4, from_owner_id="o-1", to_owner_id="o-2"),
        fact("case.resolution_proposed", 5, outcome="cannot_fulfil", proposal_no=2),
        fact("confirmation.confirmed", 6, channel="sms", received_at=at(5.5).isoformat()),
        fact("confirmation.confirmed", 7, channel="email", received_at=at(6.5).isoformat()),
        # After the yes, in time; listed before the closure so events[-1] stays the closure.
        fact("customer.satisfaction_given", 8, score=4, answered_at=at(7.9).isoformat()),
        fact("case.closed", 7.1, outcome="cannot_fulfil", attested=False, request_id="r-2"),
    ]


EXPECTED = {
    "reference": "CMP-AAAA",
    "channel": "email",
    "category": "billing",
    "product": "card",
    "region": "CA",
    "priority": "P2",
    "team": "billing",
    "owner_id": "o-2",
    "received_at": at(0),
    "assigned_at": at(1),
    "first_proposed_at": at(2),
    "confirmed_at": at(6.5),
    "closed_at": at(7.1),
    "outcome": "cannot_fulfil",
    "attested": False,
    "rejections": 1,
    "reopen_count": 1,
    "status": "closed",
    "customer_key": None,
    "received_week": "2026-W45",
    "received_month": "2026-11",
    "due_at": None,
    "proposals": 2,
    "resolved_proposals": 1,
    "first_resolved_at": at(2),
    "resolved_rejected": 1,
    "last_rejected_at": at(3),
    "breaches": 0,
    "escalations": 0,
    "audit_outcome": None,
    "resolved_on_time": None,
    "confirmed_on_time": None,
    "hours_to_confirmation": 6.5,
    "hours_claimed_to_confirmed": 4.5,
    # No regulator's policy or final response: closed when the customer's yes closed it, the
    # same day (3 business days' band), on `cannot_fulfil`, so not upheld; first answered by the
    # first proposal.
    "profile": None,
    "final_response_at": None,
    "final_response_outcome": None,
    "first_response_at": at(2),
    "reg_closed_at": at(7.1),
    "reg_closed_month": "2026-11",
    "business_days_to_close": 0,
    "fca_band": "3_business_days",
    "upheld": False,
    "regulatory_breaches": 0,
    "satisfaction_score": 4,
    "satisfaction_at": at(7.9),
}


def test_a_full_lifecycle_projects_to_the_expected_row() -> None:
    assert project(lifecycle()) == EXPECTED


def test_any_arrival_order_gives_the_same_row() -> None:
    events = lifecycle()
    # The projection sorts by occurrence, so rotations and reversals cover the arrival orders.
    for shift in range(len(events)):
        rotated = events[shift:] + events[:shift]
        assert project(rotated) == EXPECTED
        assert project(list(reversed(rotated))) == EXPECTED


def test_partial_histories_project_what_they_know() -> None:
    events = lifecycle()
    for size in (1, 3, 6):
        for subset in itertools.combinations(events, size):
            row = project(subset)
            assert row["rejections"] == sum(e.type == "confirmation.rejected" for e in subset)
    closed_only = project([events[-1]])
    assert closed_only["status"] == "closed" and closed_only["received_at"] is None
    assert closed_only["closed_at"] == at(7.1) and closed_only["outcome"] == "cannot_fulfil"


def test_open_case_status_follows_the_latest_stage() -> None:
    events = lifecycle()
    assert project(events[:4])["status"] == "resolution_proposed"
    assert project(events[:6])["status"] == "reopened"
    assert project(events[:7])["status"] == "assigned"
    assert project(events[:4])["outcome"] == "resolved"


def test_a_withdrawn_proposal_is_work_in_progress_again_and_a_reask_is_proposed() -> None:
    events = lifecycle()[:4]
    withdrawn = [*events, fact("case.resolution_withdrawn", 2.5, proposal_no=1)]
    assert project(withdrawn)["status"] == "in_progress"
    reasked = [*events, fact("case.confirmation_reasked", 2.5, outcome="resolved", proposal_no=2)]
    assert project(reasked)["status"] == "resolution_proposed"


def test_a_yes_on_another_channel_is_not_the_confirmation() -> None:
    events = [
        e
        for e in lifecycle()
        if not (e.type == "confirmation.confirmed" and e.attributes["channel"] == "email")
    ]
    assert project(events)["confirmed_at"] is None


def envelope(type_: str, data: EventData) -> Any:
    return new_event(type_, data, producer="test", complaint_id=str(uuid.uuid4()))


def test_only_allow_listed_attributes_are_kept() -> None:
    received = ComplaintReceived(
        reference="CMP-B",
        customer_key="c" * 64,
        channel="email",
        contact="secret@example.com",
        category="billing",
        description="Jane Roe at 1 Main St was charged twice",
        facts=Facts(what="Jane's card"),
        received_at=T0,
    )
    sent = envelope("complaint.received", received)
    # A field this version does not declare, as a newer producer could send it.
    newer = sent.model_copy(update={"data": {**sent.data, "customer_name": "Jane Roe"}})
    attributes = event_attributes(newer)
    assert attributes == {
        "reference": "CMP-B",
        "customer_key": "c" * 64,
        "channel": "email",
        "category": "billing",
        "received_at": T0.isoformat().replace("+00:00", "Z"),
    }
    contact = ComplaintContactAdded(
        contact_id="x", channel="sms", contact="+14155552671", text="call me", received_at=T0
    )
    assert event_attributes(envelope("complaint.contact_added", contact)) == {}
    answer = ConfirmationAnswered(
        request_id="r", channel="phone", received_at=T0, evidence="Jane said yes", attested=True
    )
    assert "evidence" not in event_attributes(envelope("confirmation.confirmed", answer))
    proposal = CaseResolutionProposed(
        owner_id="o", outcome="resolved", summary="Refunded Jane", proposal_no=1
    )
    assert "summary" not in event_attributes(envelope("case.resolution_proposed", proposal))
    closed = CaseClosed(request_id="r", reason="Jane confirmed", outcome="resolved")
    assert "reason" not in event_attributes(envelope("case.closed", closed))
