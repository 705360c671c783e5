"""Independent audits of closed cases: never by the owner; a failed audit reopens the case.

Audits are on by default (the demo organisation's auditors, config/auditors.toml) and every
attested closure is audited; the owner never learns who audits or by when; an audit still open
at its due time is escalated once, whichever replica gets there first.
"""

import asyncio
import json
from typing import Any

from services.confirmation.audits import escalate_overdue
from tests.service.test_channels_attested import attest, request_id_of
from tests.support.closure import PHONE, Loop, closure_loop
from tests.support.env import Database, TestEnv
from tests.support.services import app_of

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


async def test_failed_audit_reopens_the_case_with_the_same_owner(
    env: TestEnv, database: Database
) -> None:
    async with closure_loop(env, database, **EVERY_CASE) as loop, env.probe("#") as probe:
        case = await closed_phone_case(loop)
        requested = await probe.wait_for("audit.requested", case["id"])
        auditor = await auditor_of(loop, requested.data["audit_id"])
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
    assert requested.data["attested"] is True and requested.data.get("auditor_id") is None
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


async def test_passed_audit_leaves_the_case_closed(env: TestEnv, database: Database) -> None:
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


async def auditor_of(loop: Loop, audit_id: str) -> str:
    listed = await loop.confirmation.get("/v1/audits", headers=loop.as_("admin", "root"))
    return str(next(a["auditor_id"] for a in listed.json() if a["id"] == audit_id))


async def owner_reads(loop: Loop, case: dict[str, Any]) -> str:
    """Everything the case's owner can read about it, as one text."""
    who = loop.as_("owner", case["owner_id"])
    read = [
        await loop.ownership.get(f"/v1/cases/{case['id']}", headers=who),
        await loop.ownership.get(f"/v1/cases/{case['id']}/timeline", headers=who),
        await loop.confirmation.get(
            "/v1/confirmations", params={"complaint_id": case["id"]}, headers=who
        ),
    ]
    assert all(r.status_code == 200 for r in read), [r.text for r in read]
    return "\n".join(json.dumps(r.json()) for r in read)


async def test_attested_closures_are_audited_by_default_and_the_owner_never_sees_by_whom(
    env: TestEnv, database: Database
) -> None:
    async with (
        closure_loop(
            env, database, audit_sample_rate=0.0, audit_poll_seconds=3600, audit_due_hours=50
        ) as loop,
        env.probe("audit.#") as probe,
    ):
        case = await closed_phone_case(loop)
        requested = await probe.wait_for("audit.requested", case["id"])
        await loop.entries(case["id"], "audit_requested")
        sms_case = await loop.complaint("sms", PHONE)
        await loop.propose(sms_case)
        code = await loop.sms_code()
        await loop.sms(f"YES #{code}")
        await loop.case_when(sms_case["id"], lambda c: c["status"] == "closed")
        [audit] = (
            await loop.confirmation.get("/v1/audits", headers=loop.as_("admin", "root"))
        ).json()
        seen_by_owner = await owner_reads(loop, case)
        owner_audits = await loop.confirmation.get(
            "/v1/audits", headers=loop.as_("owner", case["owner_id"])
        )
        await asyncio.sleep(0.3)  # time for an audit of the SMS closure, were one sampled
        assert probe.of_type("audit.requested", sms_case["id"]) == []
    assert audit["id"] == requested.data["audit_id"] and audit["attested"] is True
    assert audit["auditor_id"] in {"irene", "omar"} and audit["due_at"]
    assert audit["auditor_id"] not in seen_by_owner and "irene" not in seen_by_owner
    assert audit["due_at"][:16] not in seen_by_owner and "omar" not in seen_by_owner
    assert "audit_requested" in seen_by_owner  # that it is audited, not who nor by when
    assert owner_audits.status_code == 403


async def test_an_audit_still_open_at_its_due_time_escalates_once(
    env: TestEnv, database: Database
) -> None:
    settings = {"audit_due_hours": 24, "audit_poll_seconds": 3600}
    async with closure_loop(env, database, **settings) as loop, env.probe("audit.#") as probe:
        case = await closed_phone_case(loop)
        requested = await probe.wait_for("audit.requested", case["id"])
        rt = app_of(loop.confirmation).state.runtime
        early = await escalate_overdue(rt, loop.clock())
        loop.clock.advance(25)
        # Two replicas' passes at once: the claim lets exactly one act.
        passes = await asyncio.gather(*(escalate_overdue(rt, loop.clock()) for _ in range(2)))
        overdue = await probe.wait_for("audit.overdue", case["id"])
        later = await escalate_overdue(rt, loop.clock())
        listed = await loop.confirmation.get(
            "/v1/audits", params={"status": "overdue"}, headers=loop.as_("admin", "root")
        )
        await asyncio.sleep(0.2)
        seen_by_owner = await owner_reads(loop, case)
    assert early == 0 and sorted(passes) == [0, 1] and later == 0
    assert len(probe.of_type("audit.overdue", case["id"])) == 1
    assert overdue.data["audit_id"] == requested.data["audit_id"]
    assert [a["id"] for a in listed.json()] == [requested.data["audit_id"]]
    assert listed.json()[0]["escalated_at"] and "overdue" not in seen_by_owner
