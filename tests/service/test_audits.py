"""Independent audits of closed cases: never by the owner; a failed audit reopens the case."""

from typing import Any

from tests.service.test_channels_attested import attest, request_id_of
from tests.service.test_confirmation_flow import Loop, closure_loop

EVERY_CASE = {
    "audit_sample_rate": 1.0,
    "audit_attested_sample_rate": 1.0,
    "auditors": "bob, alice, carol",
}


async def closed_phone_case(loop: Loop) -> dict[str, Any]:
    case = await loop.complaint("phone", "+14155552671")
    await loop.propose(case)
    await attest(loop, await request_id_of(loop, case["id"]), case["owner_id"])
    return await loop.case_when(case["id"], lambda c: c["status"] == "closed")


async def result(loop: Loop, audit_id: str, who: str, role: str = "supervisor", **body: Any) -> Any:
    return await loop.confirmation.post(
        f"/v1/audits/{audit_id}/result",
        json={"outcome": "failed", "notes": "Customer says the charge is back.", **body},
        headers=loop.as_(role, who),
    )


async def test_failed_audit_reopens_the_case_with_the_same_owner(env, database) -> None:  # type: ignore[no-untyped-def]
    async with closure_loop(env, database, **EVERY_CASE) as loop, env.probe("#") as probe:
        case = await closed_phone_case(loop)
        requested = await probe.wait_for("audit.requested", case["id"])
        auditor = requested.data["auditor_id"]
        listed = await loop.confirmation.get(
            "/v1/audits", params={"status": "open"}, headers=loop.as_("supervisor", auditor)
        )
        others = await loop.confirmation.get(
            "/v1/audits", headers=loop.as_("supervisor", "someone-else")
        )
        by_owner = await result(loop, requested.data["audit_id"], case["owner_id"], role="admin")
        by_other = await result(loop, requested.data["audit_id"], "someone-else")
        by_analyst = await result(loop, requested.data["audit_id"], auditor, role="analyst")
        done = await result(loop, requested.data["audit_id"], auditor)
        twice = await result(loop, requested.data["audit_id"], auditor)
        completed = await probe.wait_for("audit.completed", case["id"])
        reopened_event = await probe.wait_for("case.reopened", case["id"])
        reopened = await loop.case_when(case["id"], lambda c: c["status"] == "reopened")
        [entry] = await loop.entries(case["id"], "reopened")
        await loop.entries(case["id"], "audit_requested")
    assert auditor != case["owner_id"] and auditor in {"bob", "alice", "carol"}
    assert requested.data["attested"] is True
    assert [a["id"] for a in listed.json()] == [requested.data["audit_id"]]
    assert others.json() == []
    assert by_owner.status_code == 403
    assert by_owner.json()["error"]["code"] == "owner_cannot_audit"
    assert by_other.status_code == 403 and by_other.json()["error"]["code"] == "not_the_auditor"
    assert by_analyst.status_code == 403
    assert done.status_code == 200 and done.json()["status"] == "failed"
    assert twice.status_code == 409
    assert completed.data["outcome"] == "failed" and completed.data["auditor_id"] == auditor
    assert reopened_event.data["reason"] == "audit_failed"
    assert reopened["owner_id"] == case["owner_id"] and reopened["reopen_count"] == 1
    assert entry["detail"]["audit_id"] == requested.data["audit_id"]


async def test_passed_audit_leaves_the_case_closed(env, database) -> None:  # type: ignore[no-untyped-def]
    async with closure_loop(env, database, **EVERY_CASE) as loop, env.probe("audit.#") as probe:
        case = await closed_phone_case(loop)
        requested = await probe.wait_for("audit.requested", case["id"])
        done = await result(
            loop, requested.data["audit_id"], "admin-1", role="admin", outcome="passed"
        )
        [entry] = await loop.entries(case["id"], "audit_completed")
        closed_view = await loop.confirmation.get(
            "/v1/audits", params={"status": "passed"}, headers=loop.as_("admin", "admin-1")
        )
        assert (await loop.case(case["id"]))["status"] == "closed"
    assert done.status_code == 200
    assert entry["detail"]["outcome"] == "passed"
    assert [a["status"] for a in closed_view.json()] == ["passed"]
