"""Ownership rules without I/O: lifecycle, assignment, routing, SLA due times, the closure gate."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from services.ownership.domain import (
    OPEN,
    TRANSITIONS,
    Candidate,
    CasePolicy,
    Deadline,
    InvalidTransition,
    Needs,
    NotInCatalogue,
    Status,
    case_deadline,
    closing_outcome,
    ensure_case_owner,
    judge_answer,
    may_complete_task,
    may_manage,
    pick_owner,
    route_team,
    speaks_language,
    task_hours,
    transition,
)
from shared.errors import Forbidden
from shared.timestamps import as_utc

TARGETS = {"P1": 4.0, "P2": 24.0, "P3": 72.0, "P4": 120.0}
CATALOGUE = {("finance", "refund"): 24.0, ("logistics", "redelivery"): 48.0}


def test_only_a_customer_confirmation_leads_to_closed() -> None:
    into_closed = [a for a, (_, target) in TRANSITIONS.items() if target == Status.closed]
    assert into_closed == ["confirm"]
    assert transition("confirm", "resolution_proposed") == Status.closed


@pytest.mark.parametrize("status", ["assigned", "in_progress", "waiting_on_department", "reopened"])
def test_owner_may_propose_from_every_working_status(status: str) -> None:
    assert transition("propose_resolution", status) == Status.resolution_proposed


@pytest.mark.parametrize("status", ["resolution_proposed", "closed", "received"])
def test_proposal_is_refused_while_awaiting_the_customer_or_after_closing(status: str) -> None:
    with pytest.raises(InvalidTransition) as refused:
        transition("propose_resolution", status)
    assert refused.value.code == "invalid_transition" and refused.value.status_code == 409
    assert refused.value.details == {"status": status, "action": "propose_resolution"}


@pytest.mark.parametrize("status", ["assigned", "in_progress", "closed", "reopened"])
def test_answers_act_only_on_a_proposal(status: str) -> None:
    for action in ("confirm", "reject"):
        with pytest.raises(InvalidTransition):
            transition(action, status)


def test_rejection_reopens_and_tasks_wait_on_departments() -> None:
    assert transition("reject", "resolution_proposed") == Status.reopened
    assert transition("create_task", "reopened") == Status.waiting_on_department
    assert transition("complete_last_task", "waiting_on_department") == Status.in_progress
    with pytest.raises(InvalidTransition):
        transition("create_task", "resolution_proposed")


def test_reassignment_keeps_the_status_but_not_after_closing() -> None:
    for status in OPEN:
        assert transition("reassign", status) == status
    with pytest.raises(InvalidTransition):
        transition("reassign", "closed")


def test_least_loaded_owner_wins_and_ties_go_by_id() -> None:
    pool = [Candidate("bob", 3), Candidate("carol", 1), Candidate("alice", 1)]
    assert pick_owner(pool, "maria", Needs())[0] == "alice"
    assert pick_owner([Candidate("bob", 0), Candidate("alice", 2)], "maria", Needs())[0] == "bob"


def test_owners_at_capacity_are_passed_over_and_when_everyone_is_full_the_lead_takes_it() -> None:
    pool = [Candidate("alice", 2, capacity=2), Candidate("bob", 5, capacity=10)]
    assert pick_owner(pool, "maria", Needs())[0] == "bob"
    full = [Candidate("alice", 3, capacity=2), Candidate("bob", 5, capacity=5)]
    assert pick_owner(full, "maria", Needs())[0] == "maria"


def test_a_team_without_owners_gives_the_case_to_its_lead() -> None:
    assert pick_owner([], "maria", Needs())[0] == "maria"


def test_team_by_category_then_product_then_default() -> None:
    categories = {"billing": "billing", "credit card": "cards"}
    assert route_team(categories, "general", "  BILLING ", None) == "billing"
    assert route_team(categories, "general", "Rude staff", "Credit  Card") == "cards"
    assert route_team(categories, "general", "Rude staff", None) == "general"


def test_case_due_time_is_the_priority_target_from_the_clock_start() -> None:
    start = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
    policy = CasePolicy(TARGETS, default_priority="P2", warning_fraction=0.5)
    assert case_deadline(policy, start, "P1").due_at == start + timedelta(hours=4)
    assert case_deadline(policy, start, "P4").due_at == start + timedelta(hours=120)
    naive = datetime(2026, 11, 22, 9, 0)
    assert case_deadline(policy, naive, "P2").due_at == start + timedelta(hours=24)
    # Until it is prioritised a case runs on the default priority; the warning comes halfway.
    assert case_deadline(policy, start, None) == Deadline(
        start + timedelta(hours=12), start + timedelta(hours=24)
    )


def test_task_hours_come_from_the_catalogue_with_clear_errors() -> None:
    assert task_hours(CATALOGUE, "finance", "refund") == 24.0
    with pytest.raises(NotInCatalogue) as department:
        task_hours(CATALOGUE, "marketing", "refund")
    assert department.value.code == "unknown_department" and department.value.status_code == 422
    assert department.value.details["departments"] == ["finance", "logistics"]
    with pytest.raises(NotInCatalogue) as task_type:
        task_hours(CATALOGUE, "finance", "redelivery")
    assert task_type.value.code == "unknown_task_type"
    assert task_type.value.details["task_types"] == ["refund"]


def test_answer_on_another_channel_does_not_act() -> None:
    verdict = judge_answer("resolution_proposed", "email", "sms")
    assert not verdict.applies and "email" in verdict.reason and "sms" in verdict.reason


def test_answer_without_a_pending_proposal_does_not_act() -> None:
    assert not judge_answer("closed", "email", "email").applies
    assert not judge_answer("in_progress", "email", "email").applies


def test_answer_on_the_original_channel_to_a_proposal_acts() -> None:
    assert judge_answer("resolution_proposed", "phone", "phone").applies


def test_answer_to_a_proposal_no_longer_standing_does_not_act() -> None:
    stale = judge_answer("resolution_proposed", "email", "email", 2, 1)
    assert not stale.applies and "proposal 1" in stale.reason and "proposal 2" in stale.reason
    assert judge_answer("resolution_proposed", "email", "email", 2, 2).applies
    # An answer made before proposals were numbered is taken as to the last one.
    assert judge_answer("resolution_proposed", "email", "email", 2, 0).applies


def test_only_a_standing_proposal_is_reasked_or_withdrawn() -> None:
    assert transition("reask", "resolution_proposed") == Status.resolution_proposed
    assert transition("withdraw_resolution", "resolution_proposed") == Status.in_progress
    for status in ("assigned", "in_progress", "reopened", "closed"):
        for action in ("reask", "withdraw_resolution"):
            with pytest.raises(InvalidTransition):
                transition(action, status)


def test_cannot_fulfil_closes_as_cannot_fulfil() -> None:
    assert closing_outcome("cannot_fulfil") == "cannot_fulfil"
    assert closing_outcome("resolved") == "resolved"


def test_only_the_owner_proposes_not_even_a_supervisor() -> None:
    ensure_case_owner("owner", "alice", "alice")
    for role, subject in [("owner", "bob"), ("supervisor", "alice"), ("admin", "root")]:
        with pytest.raises(Forbidden) as refused:
            ensure_case_owner(role, subject, "alice")
        assert refused.value.code == "not_case_owner"


def test_who_may_manage_cases_and_complete_tasks() -> None:
    assert may_manage("owner", "alice", "alice") and may_manage("supervisor", "sam", "alice")
    assert not may_manage("owner", "bob", "alice") and not may_manage("frontend", "x", "alice")
    assert may_complete_task("department", "finance", "finance")
    assert not may_complete_task("department", "legal", "finance")
    assert not may_complete_task("owner", "finance", "finance")


def test_timestamps_are_normalised_to_utc() -> None:
    paris = timezone(timedelta(hours=1))
    assert as_utc(datetime(2026, 1, 1, 10, 0, tzinfo=paris)) == datetime(
        2026, 1, 1, 9, 0, tzinfo=UTC
    )
    assert as_utc(datetime(2026, 1, 1, 9, 0)).tzinfo is UTC


@pytest.mark.parametrize(
    ("languages", "wanted", "speaks"),
    [
        (("zh",), "zh-CN", True),
        (("zh-CN",), "zh", True),
        (("en", "es"), "es-MX", True),
        (("en-GB",), "EN", True),
        (("en", "fr"), "vi", False),
        (("en",), None, True),
        (("zh",), "zh_Hant_TW", True),
    ],
)
def test_an_owner_speaks_a_language_whatever_its_region(
    languages: tuple[str, ...], wanted: str | None, speaks: bool
) -> None:
    assert speaks_language(languages, wanted) is speaks
    owner = Candidate("o-1", open_cases=0, languages=languages)
    assert owner.fits(Needs(language=wanted)) is speaks
