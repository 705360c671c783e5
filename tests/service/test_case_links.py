"""A supervisor links and merges one customer's cases; a merged case closes only with the case it
was merged into, on the customer's yes there. Ownership and confirmation run together on the real
broker, so the closure comes from the customer's real answer."""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.events import ComplaintReceived, new_event
from tests.support.closure import EMAIL, Loop, closure_loop
from tests.support.env import Database, TestEnv


@pytest.fixture
async def loop(env: TestEnv, database: Database) -> AsyncIterator[Loop]:
    async with closure_loop(env, database) as running, env.probe("case.#") as probe:
        running.probe = probe  # type: ignore[attr-defined]
        yield running


async def complaint(loop: Loop, customer_key: str, description: str) -> dict[str, Any]:
    case_id = str(uuid.uuid4())
    data = ComplaintReceived(
        reference="CMP-" + uuid.uuid4().hex[:8].upper(),
        customer_key=customer_key,
        channel="email",
        contact=EMAIL,
        category="billing",
        description=description,
        received_at=datetime.now(UTC),
    )
    await loop.bus.publish(
        new_event("complaint.received", data, producer="intake", complaint_id=case_id)
    )
    return await loop.case_when(case_id, lambda c: bool(c.get("owner_id")))


async def supervise(loop: Loop, path: str, body: dict[str, Any], role: str = "supervisor") -> Any:
    return await loop.ownership.post(path, json=body, headers=loop.as_(role, "sam"))


async def test_a_merged_duplicate_closes_with_its_case_on_the_customers_yes(loop: Loop) -> None:
    key = uuid.uuid4().hex * 2
    first = await complaint(loop, key, "Charged twice for one purchase.")
    duplicate = await complaint(loop, key, "Charged twice, I wrote before.")
    merged = await supervise(
        loop, f"/v1/cases/{duplicate['id']}/merge", {"into": first["id"], "reason": "same charge"}
    )
    assert merged.status_code == 200, merged.text
    assert merged.json()["status"] == "merged" and merged.json()["merged_into"] == first["id"]
    assert (await loop.case(first["id"]))["merged_cases"] == [duplicate["id"]]
    [into] = await loop.entries(duplicate["id"], "merged_into")
    [took] = await loop.entries(first["id"], "case_merged")
    assert into["detail"]["into"] == first["id"] and took["detail"]["case_id"] == duplicate["id"]

    again = await supervise(
        loop, f"/v1/cases/{duplicate['id']}/merge", {"into": first["id"], "reason": "again"}
    )
    assert again.status_code == 409
    onto_merged = await supervise(
        loop, f"/v1/cases/{first['id']}/merge", {"into": duplicate["id"], "reason": "backwards"}
    )
    assert onto_merged.status_code == 409

    await loop.propose(first)
    _, asked = await loop.sink.next()
    yes = {"from": EMAIL, "subject": f"Re: {asked['Subject']}", "text": "Yes, resolved, thanks."}
    assert (await loop.mail(yes)).json()["verdict"] == "yes"
    closed = await loop.case_when(duplicate["id"], lambda c: c["status"] == "closed")
    assert closed["outcome"] == "resolved" and closed["closed_at"] is not None
    [entry] = await loop.entries(duplicate["id"], "closed")
    assert entry["detail"]["with_case"] == first["id"]
    probe = loop.probe  # type: ignore[attr-defined]
    event = await probe.wait_for("case.closed", duplicate["id"])
    assert event.data["with_case"] == first["id"]


async def test_what_may_not_be_merged_is_refused_and_changes_nothing(loop: Loop) -> None:
    key = uuid.uuid4().hex * 2
    a = await complaint(loop, key, "Refund missing.")
    b = await complaint(loop, key, "Refund still missing.")
    stranger = await complaint(loop, uuid.uuid4().hex * 2, "Someone else's refund.")
    for path, body, role, status in [
        (f"/v1/cases/{a['id']}/merge", {"into": a["id"], "reason": "itself"}, "supervisor", 422),
        (f"/v1/cases/{a['id']}/merge", {"into": b["id"], "reason": "mine"}, "owner", 403),
        (
            f"/v1/cases/{a['id']}/merge",
            {"into": stranger["id"], "reason": "not theirs"},
            "supervisor",
            409,
        ),
        (
            f"/v1/cases/{a['id']}/merge",
            {"into": "no-such-case", "reason": "gone"},
            "supervisor",
            404,
        ),
        (f"/v1/cases/{a['id']}/merge", {"into": b["id"]}, "supervisor", 422),
        (f"/v1/cases/{a['id']}/unmerge", {"reason": "not merged"}, "supervisor", 409),
    ]:
        answer = await supervise(loop, path, body, role)
        assert answer.status_code == status, (path, body, role, answer.text)
    for case in (a, b, stranger):
        after = await loop.case(case["id"])
        assert after["status"] == case["status"] and after["merged_into"] is None


async def test_a_merge_taken_back_is_worked_again_with_a_new_sla(loop: Loop) -> None:
    key = uuid.uuid4().hex * 2
    a = await complaint(loop, key, "The card was blocked abroad.")
    b = await complaint(loop, key, "A second, different charge I do not know.")
    await supervise(loop, f"/v1/cases/{b['id']}/merge", {"into": a["id"], "reason": "same?"})
    back = await supervise(loop, f"/v1/cases/{b['id']}/unmerge", {"reason": "another matter"})
    assert back.status_code == 200, back.text
    assert back.json()["status"] == "in_progress" and back.json()["merged_into"] is None
    assert back.json()["due_at"] is not None
    assert (await loop.case(a["id"]))["merged_cases"] == []
    [entry] = await loop.entries(b["id"], "unmerged")
    assert entry["detail"]["from_case"] == a["id"]


async def test_linked_cases_name_each_other_once(loop: Loop) -> None:
    key = uuid.uuid4().hex * 2
    a = await complaint(loop, key, "The app logs me out.")
    b = await complaint(loop, key, "The statement shows a fee for the app.")
    for _ in range(2):
        linked = await supervise(
            loop, f"/v1/cases/{a['id']}/links", {"case_id": b["id"], "reason": "same app"}
        )
        assert linked.status_code == 200, linked.text
    assert linked.json()["linked_cases"] == [b["id"]]
    assert (await loop.case(b["id"]))["linked_cases"] == [a["id"]]
    assert len(await loop.entries(b["id"], "linked")) == 1
    headers = loop.as_("supervisor", "sam")
    unlinked = await loop.ownership.delete(f"/v1/cases/{b['id']}/links/{a['id']}", headers=headers)
    assert unlinked.status_code == 200 and unlinked.json()["linked_cases"] == []
    gone = await loop.ownership.delete(f"/v1/cases/{b['id']}/links/{a['id']}", headers=headers)
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "link_not_found"
