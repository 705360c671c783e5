"""A case from its owner's work to the customer's answer: tasks, proposals, the closure gate."""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from services.ownership.app import create_app
from services.ownership.models import timers
from shared.events import ConfirmationAnswered, ConfirmationRequested, Envelope
from shared.timestamps import as_utc
from tests.support.env import Database, TestEnv
from tests.support.ownership import (
    Desk,
    at,
    event,
    eventually,
    handled,
    handled_reader,
    outbox_count,
    regulatory,
    running_desk,
)


@pytest.fixture
async def desk(env: TestEnv, database: Database) -> AsyncIterator[Desk]:
    async with running_desk(env, database) as running_service:
        yield running_service


# The confirmation request that confirmation sent for each case's latest proposal.
REQUESTS: dict[str, str] = {}


def answer(case_id: str, type_: str, channel: str = "email", **extra: Any) -> Envelope:
    data = ConfirmationAnswered(
        request_id=extra.pop("request_id", REQUESTS.get(case_id, str(uuid.uuid4()))),
        channel=channel,
        received_at=datetime.now(UTC),
        evidence=extra.pop("evidence", "YES, thank you"),
        attested=extra.pop("attested", False),
        proposal_no=extra.pop("proposal_no", 0),
    )
    return event(f"confirmation.{type_}", data, case_id, "confirmation")


async def open_case(desk: Desk, **overrides: Any) -> dict[str, Any]:
    case_id = await desk.receive(**overrides)
    return await desk.wait_case(case_id)


async def propose(
    desk: Desk, case: dict[str, Any], outcome: str = "resolved", **headers: str
) -> Any:
    response = await desk.client.post(
        f"/v1/cases/{case['id']}/resolution",
        json={"outcome": outcome, "summary": "We refunded the second charge."},
        headers={**desk.as_("owner", case["owner_id"]), **headers},
    )
    if response.status_code == 200:
        await ask(desk, case["id"])
    return response


async def ask(desk: Desk, case_id: str, proposal_no: int = 0) -> str:
    """Publish confirmation.requested as confirmation does once a proposal is made."""
    request_id = REQUESTS[case_id] = str(uuid.uuid4())
    data = ConfirmationRequested(
        request_id=request_id, channel="email", sent_at=datetime.now(UTC), proposal_no=proposal_no
    )
    await desk.publish(event("confirmation.requested", data, case_id, "confirmation"))
    return request_id


async def test_task_is_due_by_the_catalogue_and_routed_to_its_department(
    desk: Desk, env: TestEnv
) -> None:
    case = await open_case(desk)
    owner = desk.as_("owner", case["owner_id"])
    path = f"/v1/cases/{case['id']}/tasks"
    async with env.probe("task.created.finance") as finance, env.probe("task.#") as tasks:
        before = datetime.now(UTC)
        body = {"department": "finance", "type": "refund", "description": "Refund 42.00"}
        response = await desk.client.post(path, json=body, headers=owner)
        assert response.status_code == 201, response.text
        task = response.json()
        assert (
            before + timedelta(hours=24)
            <= at(task["due_at"])
            <= datetime.now(UTC) + timedelta(hours=24)
        )
        created = await finance.wait_for("task.created", case["id"])
        assert created.data["task_id"] == task["id"] and created.data["department"] == "finance"
        assert (await desk.case(case["id"]))["status"] == "waiting_on_department"
        assert (await desk.case(case["id"]))["owner_id"] == case["owner_id"]

        unknown = await desk.client.post(path, json={**body, "department": "hr"}, headers=owner)
        assert (
            unknown.status_code == 422 and unknown.json()["error"]["code"] == "unknown_department"
        )
        wrong_type = await desk.client.post(path, json={**body, "type": "fly"}, headers=owner)
        assert wrong_type.json()["error"]["code"] == "unknown_task_type"
        stranger = await desk.client.post(path, json=body, headers=desk.as_("owner", "ivan"))
        assert stranger.status_code == 403

        done = f"/v1/tasks/{task['id']}/complete"
        other_dept = await desk.client.post(done, headers=desk.as_("department", "logistics"))
        assert other_dept.status_code == 403
        assert other_dept.json()["error"]["code"] == "not_task_department"
        completed = await desk.client.post(
            done, json={"note": "refunded"}, headers=desk.as_("department", "finance")
        )
        assert completed.status_code == 200 and completed.json()["status"] == "completed"
        event_ = await tasks.wait_for("task.completed", case["id"])
        again = await desk.client.post(done, headers=desk.as_("department", "finance"))
        assert again.status_code == 409 and again.json()["error"]["code"] == "task_not_open"
    assert finance.routing_keys == ["task.created.finance"]
    assert tasks.routing_keys[-1] == "task.completed.finance" and event_.data["type"] == "refund"
    assert (await desk.case(case["id"]))["status"] == "in_progress"
    listed = await desk.client.get(path, headers=desk.as_("department", "finance"))
    assert [t["status"] for t in listed.json()["items"]] == ["completed"]
    own = await desk.client.get(
        "/v1/tasks?status=completed", headers=desk.as_("department", "finance")
    )
    assert [t["id"] for t in own.json()["items"]] == [task["id"]]
    # A regulator's clock may warn at any moment (the case was received days ago).
    kinds = [e["kind"] for e in await desk.timeline(case["id"]) if not regulatory(e)]
    assert kinds[-2:] == ["task_created", "task_completed"]


async def test_resolution_waits_for_open_tasks(desk: Desk) -> None:
    case = await open_case(desk)
    body = {"department": "finance", "type": "refund", "description": "Refund"}
    key = {**desk.as_("owner", case["owner_id"]), "Idempotency-Key": str(uuid.uuid4())}
    first = await desk.client.post(f"/v1/cases/{case['id']}/tasks", json=body, headers=key)
    again = await desk.client.post(f"/v1/cases/{case['id']}/tasks", json=body, headers=key)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert await outbox_count(desk, "task.created.finance", case["id"]) == 1
    refused = await propose(desk, case)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "open_tasks"
    assert (await desk.case(case["id"]))["status"] == "waiting_on_department"


async def test_only_the_owner_may_propose_a_resolution(desk: Desk, env: TestEnv) -> None:
    case = await open_case(desk)
    path, body = f"/v1/cases/{case['id']}/resolution", {"outcome": "resolved", "summary": "Done"}
    for role, subject in [("owner", "bob"), ("supervisor", case["owner_id"]), ("admin", "root")]:
        refused = await desk.client.post(path, json=body, headers=desk.as_(role, subject))
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "not_case_owner"
    key = {"Idempotency-Key": str(uuid.uuid4())}
    async with env.probe("case.resolution_proposed") as probe:
        first = await propose(desk, case, **key)
        assert first.status_code == 200, first.text
        assert first.json()["status"] == "resolution_proposed" and first.json()["proposal_no"] == 1
        replay = await propose(desk, case, **key)
        assert replay.json() == first.json() and replay.headers["Idempotent-Replayed"] == "true"
        proposed = await probe.wait_for("case.resolution_proposed", case["id"])
    assert proposed.data["owner_id"] == case["owner_id"] and proposed.data["proposal_no"] == 1
    assert await outbox_count(desk, "case.resolution_proposed", case["id"]) == 1
    other = await propose(desk, case, outcome="cannot_fulfil", **key)
    assert other.status_code == 409 and other.json()["error"]["code"] == "idempotency_key_reused"
    twice = await propose(desk, case)
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "invalid_transition"


async def test_confirmation_on_another_channel_does_not_close(desk: Desk, env: TestEnv) -> None:
    case = await open_case(desk, channel="email")
    await propose(desk, case)
    async with env.probe("case.#") as probe:
        await desk.publish(answer(case["id"], "confirmed", channel="sms"))
        ignored = (await desk.wait_entry(case["id"], "confirmation_ignored"))[0]
        assert "sms" in ignored["detail"]["reason"]
        assert (await desk.case(case["id"]))["status"] == "resolution_proposed"
        request_id = REQUESTS[case["id"]]
        await desk.publish(answer(case["id"], "confirmed", request_id=request_id))
        closed = await probe.wait_for("case.closed", case["id"])
    assert closed.data == {
        "request_id": request_id,
        "reason": "customer answered on email",
        "outcome": "resolved",
        "attested": False,
        "proposal_no": 1,
        "with_case": None,
    }
    assert len(probe.of_type("case.closed")) == 1
    final = await desk.case(case["id"])
    assert final["status"] == "closed" and final["outcome"] == "resolved" and final["closed_at"]
    late = answer(case["id"], "rejected")
    await desk.publish(late)
    await desk.wait_entry(case["id"], "confirmation_ignored", count=2)
    assert (await desk.case(case["id"]))["status"] == "closed"


async def test_a_yes_to_a_reasked_proposal_closes_only_when_it_answers_the_new_ask(
    desk: Desk, env: TestEnv
) -> None:
    case = await open_case(desk, channel="email")
    await propose(desk, case)
    owner = desk.as_("owner", case["owner_id"])
    first_request = REQUESTS[case["id"]]
    async with env.probe("case.#") as probe:
        reasked = await desk.client.post(f"/v1/cases/{case['id']}/resolution/reask", headers=owner)
        asked = await probe.wait_for("case.confirmation_reasked", case["id"])
        # The customer answers the first ask after it was replaced, then the new one.
        late = answer(case["id"], "confirmed", proposal_no=1, request_id=first_request)
        await desk.publish(late)
        [ignored] = await desk.wait_entry(case["id"], "confirmation_ignored")
        assert (await desk.case(case["id"]))["status"] == "resolution_proposed"
        await ask(desk, case["id"], proposal_no=2)
        await desk.publish(answer(case["id"], "confirmed", proposal_no=2))
        closed = await probe.wait_for("case.closed", case["id"])
    assert reasked.status_code == 200 and reasked.json()["proposal_no"] == 2
    assert asked.data["previous_proposal_no"] == 1 and asked.data["outcome"] == "resolved"
    assert asked.data["summary"] == "We refunded the second charge."
    assert "proposal 1" in ignored["detail"]["reason"]
    assert closed.data["proposal_no"] == 2


async def test_rejection_reopens_with_the_same_owner_once_even_when_redelivered(
    desk: Desk, env: TestEnv
) -> None:
    case = await open_case(desk)
    await propose(desk, case)
    rejection = answer(case["id"], "rejected", evidence="NO, still charged twice")
    before = handled("confirmation.rejected")
    async with env.probe("case.reopened") as probe:
        await desk.publish(rejection)
        await desk.publish(rejection)
        reopened = await probe.wait_for("case.reopened", case["id"])
        await eventually(handled_reader("confirmation.rejected"), lambda n: n == before + 2)
    assert reopened.data["reopen_count"] == 1 and reopened.data["request_id"]
    assert reopened.data["proposal_no"] == 1  # confirmation retires that proposal's request only
    assert await outbox_count(desk, "case.reopened", case["id"]) == 1
    after = await desk.case(case["id"])
    assert (after["status"], after["owner_id"], after["reopen_count"]) == (
        "reopened",
        case["owner_id"],
        1,
    )
    restarted = at(after["sla_started_at"])
    assert at(after["due_at"]) == restarted + timedelta(hours=72) > datetime.now(UTC)
    # The case SLA timers restart with it; the customer clock keeps its start at receipt.
    assert await pending_timers(desk, case["id"]) == {
        "warning": restarted + timedelta(hours=72 * 0.75),
        "breach": at(after["due_at"]),
    }
    assert after["customer_clock_started_at"] == case["customer_clock_started_at"]
    assert after["customer_clock_hours"] >= case["customer_clock_hours"]
    entry = (await desk.timeline(case["id"]))[-1]
    assert entry["kind"] == "reopened" and entry["detail"]["evidence"] == "NO, still charged twice"
    second = await propose(desk, case, outcome="cannot_fulfil")
    assert second.json()["proposal_no"] == 2
    await desk.publish(answer(case["id"], "confirmed", attested=True))
    closed = await desk.wait_case(case["id"], lambda c: c["status"] == "closed")
    assert closed["outcome"] == "cannot_fulfil" and closed["reopen_count"] == 1
    assert await pending_timers(desk, case["id"]) == {}


async def pending_timers(desk: Desk, case_id: str) -> dict[str, datetime]:
    async with desk.app.state.engine.connect() as conn:
        rows = await conn.execute(
            select(timers.c.kind, timers.c.due_at).where(
                timers.c.subject_id == case_id, timers.c.fired_at.is_(None)
            )
        )
        return {kind: as_utc(due) for kind, due in rows}


async def test_unclear_answer_leaves_the_proposal_with_its_owner(desk: Desk) -> None:
    case = await open_case(desk)
    await propose(desk, case)
    await desk.publish(answer(case["id"], "unclear", evidence="maybe?"))
    entry = (await desk.wait_entry(case["id"], "confirmation_unclear"))[0]
    assert entry["detail"]["follow_up"] == case["owner_id"]
    assert (await desk.case(case["id"]))["status"] == "resolution_proposed"


async def test_reassignment_hands_over_and_never_leaves_the_case_ownerless(
    desk: Desk, env: TestEnv
) -> None:
    case = await open_case(desk)
    path = f"/v1/cases/{case['id']}/reassign"
    move = {"to_owner_id": "dave", "reason": "parcel never arrived"}
    stranger = await desk.client.post(path, json=move, headers=desk.as_("owner", "bob"))
    assert stranger.status_code == 403 and stranger.json()["error"]["code"] == "not_case_owner"
    unknown = await desk.client.post(
        path, json={**move, "to_owner_id": "zed"}, headers=desk.as_("supervisor")
    )
    assert unknown.status_code == 422 and unknown.json()["error"]["code"] == "unknown_owner"
    async with env.probe("case.reassigned") as probe:
        moved = await desk.client.post(path, json=move, headers=desk.as_("supervisor", "sam"))
        assert moved.status_code == 200, moved.text
        assert (moved.json()["owner_id"], moved.json()["team"]) == ("dave", "delivery")
        reassigned = await probe.wait_for("case.reassigned", case["id"])
    assert reassigned.data["from_owner_id"] == case["owner_id"]
    assert reassigned.data["to_owner_id"] == "dave" and reassigned.data["due_at"]
    same = await desk.client.post(path, json=move, headers=desk.as_("owner", "dave"))
    assert same.status_code == 409 and same.json()["error"]["code"] == "already_owner"
    old_owner = await propose(desk, case)
    assert old_owner.status_code == 403
    back = {"to_owner_id": case["owner_id"], "reason": "billing after all"}
    handed = await desk.client.post(path, json=back, headers=desk.as_("owner", "dave"))
    assert handed.json()["owner_id"] == case["owner_id"]
    entries = [e for e in await desk.timeline(case["id"]) if e["kind"] == "reassigned"]
    assert [e["actor"] for e in entries] == ["supervisor:sam", "owner:dave"]
    listed = await desk.client.get("/v1/cases?limit=500", headers=desk.as_("supervisor"))
    assert all(c["owner_id"] for c in listed.json()["items"])


def test_no_route_closes_a_case() -> None:
    paths = create_app().openapi()["paths"]
    assert "/v1/cases/{case_id}/resolution" in paths
    assert not [p for p in paths if "close" in p]
