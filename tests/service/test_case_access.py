"""Who reads a case, row by row, and the internal notes on its timeline: an owner reads their
own and their team's cases, a department the cases it was asked about, and a note reaches the
people working the case but never the front ends (which may show a timeline to the customer)."""

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import func, select

from services.ownership.models import outbox
from tests.support.env import Database, TestEnv
from tests.support.ownership import Desk, running_desk


@pytest.fixture
async def desk(env: TestEnv, database: Database) -> AsyncIterator[Desk]:
    async with running_desk(env, database) as running:
        yield running


PATHS = ("/v1/cases/{id}", "/v1/cases/{id}/timeline", "/v1/cases/{id}/tasks")


async def statuses(desk: Desk, case_id: str, role: str, subject: str) -> list[int]:
    headers = desk.as_(role, subject)
    return [
        (await desk.client.get(p.format(id=case_id), headers=headers)).status_code for p in PATHS
    ]


async def billing_case(desk: Desk) -> dict[str, Any]:
    case_id = await desk.receive(category="billing")
    return await desk.wait_case(case_id, lambda c: bool(c.get("owner_id")))


async def test_an_owner_reads_their_own_and_their_teams_cases_only(desk: Desk) -> None:
    case = await billing_case(desk)
    teammate = {"bob": "alice", "alice": "bob"}[case["owner_id"]]
    assert await statuses(desk, case["id"], "owner", case["owner_id"]) == [200, 200, 200]
    assert await statuses(desk, case["id"], "owner", teammate) == [200, 200, 200]
    for stranger in ("dave", "nobody-we-know"):
        assert await statuses(desk, case["id"], "owner", stranger) == [403, 403, 403]
    refused = await desk.client.get(f"/v1/cases/{case['id']}", headers=desk.as_("owner", "dave"))
    assert refused.json()["error"]["code"] == "not_your_case"
    for role in ("frontend", "supervisor", "admin"):
        assert await statuses(desk, case["id"], role, "x") == [200, 200, 200]
    assert await statuses(desk, "no-such-case", "supervisor", "x") == [404, 404, 404]


async def test_a_department_reads_a_case_once_it_has_a_task_on_it(desk: Desk) -> None:
    case = await billing_case(desk)
    assert await statuses(desk, case["id"], "department", "finance") == [403, 403, 403]
    asked = await desk.client.post(
        f"/v1/cases/{case['id']}/tasks",
        json={"department": "finance", "type": "refund", "description": "Refund the charge."},
        headers=desk.as_("owner", case["owner_id"]),
    )
    assert asked.status_code == 201, asked.text
    assert await statuses(desk, case["id"], "department", "finance") == [200, 200, 200]
    assert await statuses(desk, case["id"], "department", "logistics") == [403, 403, 403]
    refused = await desk.client.get(
        f"/v1/cases/{case['id']}/timeline", headers=desk.as_("department", "logistics")
    )
    assert refused.json()["error"]["code"] == "no_task_on_case"


async def test_a_note_is_for_colleagues_and_announces_nothing(desk: Desk) -> None:
    case = await billing_case(desk)
    path, owner = f"/v1/cases/{case['id']}/notes", desk.as_("owner", case["owner_id"])
    async with desk.app.state.engine.connect() as conn:
        events_before = await conn.scalar(select(func.count()).select_from(outbox))
    text = "Customer sounded upset; said they will go to the ombudsman. Call after 5 pm."
    key = {"Idempotency-Key": "note-1"}
    added = await desk.client.post(path, json={"text": text}, headers={**owner, **key})
    assert added.status_code == 201, added.text
    again = await desk.client.post(path, json={"text": text}, headers={**owner, **key})
    assert again.json()["note_id"] == added.json()["note_id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    by_supervisor = await desk.client.post(
        path, json={"text": "Agreed, priority call."}, headers=desk.as_("supervisor", "sam")
    )
    assert by_supervisor.status_code == 201

    notes = [e for e in await desk.timeline(case["id"]) if e["kind"] == "note"]
    assert [(n["actor"], n["detail"]["text"]) for n in notes] == [
        (f"owner:{case['owner_id']}", text),
        ("supervisor:sam", "Agreed, priority call."),
    ]
    teammate = {"bob": "alice", "alice": "bob"}[case["owner_id"]]
    for role, subject in (("owner", teammate), ("frontend", "desk-1")):
        read = await desk.client.get(
            f"/v1/cases/{case['id']}/timeline", headers=desk.as_(role, subject)
        )
        kinds = [e["kind"] for e in read.json()["entries"]]
        assert ("note" in kinds) is (role == "owner"), (role, kinds)
    async with desk.app.state.engine.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(outbox)) == events_before
    assert (await desk.case(case["id"]))["status"] == case["status"]


async def test_a_note_nobody_may_write_or_that_says_nothing_is_refused(desk: Desk) -> None:
    case = await billing_case(desk)
    path = f"/v1/cases/{case['id']}/notes"
    for body in ({}, {"text": ""}, {"text": "   \n"}, {"text": "x" * 4001}, {"text": 5}):
        refused = await desk.client.post(
            path, json=body, headers=desk.as_("owner", case["owner_id"])
        )
        assert refused.status_code == 422, (body, refused.text)
    for role, subject in (("owner", "dave"), ("department", "finance"), ("frontend", "desk-1")):
        refused = await desk.client.post(
            path, json={"text": "hello"}, headers=desk.as_(role, subject)
        )
        assert refused.status_code == 403, (role, refused.text)
    missing = await desk.client.post(
        "/v1/cases/no-such-case/notes", json={"text": "hello"}, headers=desk.as_("supervisor")
    )
    assert missing.status_code == 404
    assert not [e for e in await desk.timeline(case["id"]) if e["kind"] == "note"]
