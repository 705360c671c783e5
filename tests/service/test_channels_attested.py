"""Phone, walk-in and letter: the case's current owner attests the answer, with evidence."""

import uuid
from typing import Any

from tests.support.closure import Loop, closure_loop
from tests.support.env import Database, TestEnv
from tests.support.services import outbox_events


async def request_id_of(loop: Loop, case_id: str) -> str:
    view = await loop.view_when(
        case_id, lambda v: any(r["status"] == "pending" for r in v.get("requests", []))
    )
    return str(next(r["id"] for r in view["requests"] if r["status"] == "pending"))


async def attest(
    loop: Loop, request_id: str, owner: str, key: str | None = None, **body: Any
) -> Any:
    fields = {
        "answer": "yes",
        "evidence_type": "call_reference",
        "evidence_ref": "CALL-2026-11-23-0042",
        "customer_words": "Yes, the refund arrived, thank you.",
        **body,
    }
    headers = loop.as_("owner", owner)
    if key is not None:
        headers["Idempotency-Key"] = key
    return await loop.confirmation.post(
        f"/v1/confirmations/{request_id}/attestations", json=fields, headers=headers
    )


async def test_owner_attests_a_phone_yes_and_the_closure_is_marked_attested(
    env: TestEnv, database: Database
) -> None:
    async with closure_loop(env, database) as loop, env.probe("#") as probe:
        case = await loop.complaint("phone", "+14155552671")
        await loop.propose(case)
        request_id = await request_id_of(loop, case["id"])
        requested = await probe.wait_for("confirmation.requested", case["id"])
        done = await attest(loop, request_id, case["owner_id"])
        closed_case = await loop.case_when(case["id"], lambda c: c["status"] == "closed")
        closed = await probe.wait_for("case.closed", case["id"])
        [entry] = await loop.entries(case["id"], "closed")
        view = await loop.view(case["id"])
    assert requested.data["channel"] == "phone" and loop.gateway.messages.empty()
    assert done.status_code == 201 and done.json()["verdict"] == "yes"
    assert closed_case["outcome"] == "resolved" and closed.data["attested"] is True
    assert entry["detail"]["attested"] is True
    assert "CALL-2026-11-23-0042" in entry["detail"]["evidence"]
    [inbound] = view["inbound"]
    assert inbound["attested"] is True and inbound["evidence_type"] == "call_reference"
    assert inbound["sender"] == case["owner_id"]


async def test_letter_no_reopens_and_walk_in_unclear_stays_with_the_owner(
    env: TestEnv, database: Database
) -> None:
    async with closure_loop(env, database) as loop:
        letter = await loop.complaint("letter", "12 Rua Augusta, Lisboa")
        walk_in = await loop.complaint("walk_in", "Ana Lima, counter 3")
        await loop.propose(letter)
        await loop.propose(walk_in)
        no = await attest(
            loop,
            await request_id_of(loop, letter["id"]),
            letter["owner_id"],
            answer="no",
            evidence_type="letter_scan",
            evidence_ref="SCAN-88",
            customer_words="The charge is still on my statement.",
        )
        unclear = await attest(
            loop,
            await request_id_of(loop, walk_in["id"]),
            walk_in["owner_id"],
            answer="unclear",
            evidence_type="visit_note",
            evidence_ref="VISIT-12",
            customer_words="She will check her statement next week.",
        )
        await loop.case_when(letter["id"], lambda c: c["status"] == "reopened")
        [entry] = await loop.entries(walk_in["id"], "confirmation_unclear")
        assert (await loop.case(walk_in["id"]))["status"] == "resolution_proposed"
    assert no.status_code == 201 and unclear.status_code == 201
    assert entry["detail"]["attested"] is True


async def test_only_the_current_owner_may_attest_and_only_in_person(
    env: TestEnv, database: Database
) -> None:
    async with closure_loop(env, database) as loop:
        case = await loop.complaint("phone", "+14155552671")
        email_case = await loop.complaint("email", "ana@example.com")
        await loop.propose(case)
        await loop.propose(email_case)
        request_id = await request_id_of(loop, case["id"])
        stranger = await attest(loop, request_id, "mallory")
        wrong_evidence = await attest(
            loop, request_id, case["owner_id"], evidence_type="visit_note"
        )
        on_email = await attest(
            loop, await request_id_of(loop, email_case["id"]), email_case["owner_id"]
        )
        unknown = await attest(loop, "no-such-request", case["owner_id"])
        supervisor = await loop.confirmation.post(
            f"/v1/confirmations/{request_id}/attestations",
            json={
                "answer": "yes",
                "evidence_type": "call_reference",
                "evidence_ref": "x",
                "customer_words": "yes",
            },
            headers=loop.as_("supervisor", case["owner_id"]),
        )
        previous = case["owner_id"]
        successor = "alice" if previous != "alice" else "bob"
        handed = await loop.ownership.post(
            f"/v1/cases/{case['id']}/reassign",
            json={"to_owner_id": successor, "reason": "holiday"},
            headers=loop.as_("supervisor", "sup-1"),
        )
        assert handed.status_code == 200, handed.text
        late = await _eventually_refused(loop, request_id, previous)
        view = await loop.view(case["id"])
        assert (await loop.case(case["id"]))["status"] == "resolution_proposed"
        by_successor = await attest(loop, request_id, successor)
        await loop.case_when(case["id"], lambda c: c["status"] == "closed")
    assert stranger.status_code == 403 and stranger.json()["error"]["code"] == "not_owner"
    assert wrong_evidence.status_code == 422
    assert wrong_evidence.json()["error"]["code"] == "evidence_mismatch"
    assert on_email.status_code == 409 and on_email.json()["error"]["code"] == "wrong_channel"
    assert unknown.status_code == 404
    assert supervisor.status_code == 403
    assert late.status_code == 403
    assert {"not_owner", "evidence_mismatch"} <= {m["reason"] for m in view["inbound"]}
    assert by_successor.status_code == 201


async def test_an_idempotency_key_attests_once_and_answers_a_repeat_as_the_first_time(
    env: TestEnv, database: Database
) -> None:
    async with closure_loop(env, database) as loop:
        case = await loop.complaint("phone", "+14155552671")
        await loop.propose(case)
        request_id = await request_id_of(loop, case["id"])
        owner, first_key, stranger_key = case["owner_id"], str(uuid.uuid4()), str(uuid.uuid4())
        stranger = [await attest(loop, request_id, "mallory", stranger_key) for _ in range(2)]
        taken = await attest(loop, request_id, owner, stranger_key)
        first, again = [await attest(loop, request_id, owner, first_key) for _ in range(2)]
        other = await attest(loop, request_id, owner, first_key, customer_words="Yes, thanks.")
        without_key = await attest(loop, request_id, owner)
        view = await loop.view(case["id"])
        confirmed = await outbox_events(loop.confirmation, "confirmation.confirmed")
    assert [r.status_code for r in stranger] == [403, 403]
    assert stranger[0].json() == stranger[1].json()
    assert stranger[0].json()["error"]["code"] == "not_owner"
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "idempotency_key_reused"
    assert first.status_code == again.status_code == 201, first.text
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert other.status_code == 409 and other.json()["error"]["code"] == "idempotency_key_reused"
    assert without_key.status_code == 409 and without_key.json()["error"]["code"] == "token_used"
    recorded = sorted((m["reason"] or "") for m in view["inbound"])
    assert recorded == ["", "not_owner", "token_used"]
    assert first.json()["inbound_id"] in {m["id"] for m in view["inbound"]}
    assert [e.complaint_id for e in confirmed] == [case["id"]]


async def _eventually_refused(loop: Loop, request_id: str, owner: str) -> Any:
    """The old owner's attestation once the reassignment has reached confirmation."""
    import asyncio

    for _ in range(100):
        response = await attest(loop, request_id, owner, answer="unclear")
        if response.status_code == 403:
            return response
        await asyncio.sleep(0.05)
    return response
