"""Every state of a proposal has a way forward for the owner, with ownership and confirmation
running together: re-ask after an unclear answer or a dead link, attest after no answer, and
withdraw; an answer to a retired request is refused and changes nothing."""

import asyncio
import uuid
from typing import Any

import pytest

from tests.service.test_channels_attested import attest
from tests.service.test_channels_web import path_of
from tests.support.closure import MAIL_TOKEN, PHONE, SMS_CODE, Loop, closure_loop
from tests.support.env import Database, TestEnv

EMAIL = "ana.lima@example.com"
WEB = "web.customer@example.com"


async def asked_token(loop: Loop) -> str:
    """The token of the next question the customer receives by email."""
    _, message = await loop.sink.next()
    match = MAIL_TOKEN.search(str(message["Subject"]))
    assert match, message["Subject"]
    return match.group(1)


async def mail_reply(loop: Loop, token: str, text: str, message_id: str | None = None) -> Any:
    reply = {
        "from": EMAIL,
        "to": loop.settings.reply_address,
        "subject": f"Re: [CMP #{token}]",
        "text": f"{text}\n\n> Is your complaint resolved?",
        "message_id": message_id or f"<{uuid.uuid4().hex}@example.com>",
    }
    response = await loop.mail(reply)
    assert response.status_code == 200, response.text
    return response.json()


async def owner_post(loop: Loop, case: dict[str, Any], action: str, **kwargs: Any) -> Any:
    headers = {**loop.as_("owner", case["owner_id"]), **kwargs.pop("headers", {})}
    return await loop.ownership.post(
        f"/v1/cases/{case['id']}/resolution/{action}", headers=headers, **kwargs
    )


async def links(loop: Loop, case_id: str) -> list[str]:
    view = await loop.view(case_id, role="frontend")
    return [m["link"] for m in view.get("outbound", []) if m.get("link")]


async def new_link(loop: Loop, case_id: str, old: str | None = None) -> str:
    """The next link the front end's delivery webhook receives for this case."""
    while True:
        delivered = await loop.hook.next()
        if delivered["complaint_id"] == case_id and delivered["link"] != old:
            return str(delivered["link"])


async def test_unclear_email_answer_is_reasked_and_the_customers_yes_closes(
    env: TestEnv, database: Database
) -> None:
    async with closure_loop(env, database) as loop, env.probe("case.#") as probe:
        case = await loop.complaint("email", EMAIL)
        early = await owner_post(loop, case, "reask")
        await loop.propose(case)
        first = await asked_token(loop)
        unclear = await mail_reply(loop, first, "Not sure yet, I will check my statement.")
        await loop.entries(case["id"], "confirmation_unclear")
        stuck_task = await loop.ownership.post(
            f"/v1/cases/{case['id']}/tasks",
            json={"department": "finance", "type": "refund", "description": "again"},
            headers=loop.as_("owner", case["owner_id"]),
        )
        stranger = await loop.ownership.post(
            f"/v1/cases/{case['id']}/resolution/reask", headers=loop.as_("owner", "mallory")
        )
        key = {"Idempotency-Key": str(uuid.uuid4())}
        note = {"note": "The customer was unsure; asking again."}
        reasked = await owner_post(loop, case, "reask", json=note, headers=key)
        replayed = await owner_post(loop, case, "reask", json=note, headers=key)
        second = await asked_token(loop)
        view = await loop.view_when(case["id"], lambda v: len(v["requests"]) == 2)
        old_yes = await mail_reply(loop, first, "Yes, all sorted.")
        assert (await loop.case(case["id"]))["status"] == "resolution_proposed"
        new_yes = await mail_reply(loop, second, "Yes, all sorted now, thank you.")
        closed = await loop.case_when(case["id"], lambda c: c["status"] == "closed")
        event = await probe.wait_for("case.closed", case["id"])
        [entry] = await loop.entries(case["id"], "resolution_reasked")
        await asyncio.sleep(0.3)
        assert loop.sink.messages.empty()
    assert early.status_code == 409 and early.json()["error"]["code"] == "invalid_transition"
    assert unclear["verdict"] == "unclear"
    assert stuck_task.status_code == 409
    assert stranger.status_code == 403
    assert reasked.status_code == 200, reasked.text
    assert reasked.json()["proposal_no"] == 2 and reasked.json()["status"] == "resolution_proposed"
    assert replayed.json() == reasked.json() and replayed.headers["Idempotent-Replayed"] == "true"
    assert sorted((r["proposal_no"], r["status"]) for r in view["requests"]) == [
        (1, "superseded"),
        (2, "pending"),
    ]
    assert {r["channel"] for r in view["requests"]} == {"email"}
    assert first != second
    assert old_yes["reason"] == "token_used" and old_yes["verdict"] == "rejected"
    assert new_yes["verdict"] == "yes"
    assert closed["outcome"] == "resolved"
    assert event.data["proposal_no"] == 2
    assert entry["detail"]["previous_proposal_no"] == 1 and entry["detail"]["note"] == note["note"]
    assert len(probe.of_type("case.closed", case["id"])) == 1


async def test_no_answer_is_attested_from_the_customers_email_and_the_closure_is_audited(
    env: TestEnv, database: Database
) -> None:
    audit_every_attested = {
        "audit_sample_rate": 0.0,
        "audit_attested_sample_rate": 1.0,
        "auditors": "bob, alice, carol",
    }
    async with (
        closure_loop(
            env,
            database,
            reminder_schedule_hours="1",
            no_answer_after_hours=1,
            **audit_every_attested,
        ) as loop,
        env.probe("#") as probe,
    ):
        case = await loop.complaint("email", EMAIL)
        await loop.propose(case)
        await asked_token(loop)
        view = await loop.view_when(case["id"], lambda v: bool(v.get("requests")))
        request_id = view["requests"][0]["id"]
        owner = case["owner_id"]
        evidence = {
            "evidence_type": "message_id",
            "evidence_ref": "<r7@mail.example.com>",
            "customer_words": "Yes, the refund arrived.",
        }
        too_early = await attest(loop, request_id, owner, **evidence)
        loop.clock.advance(1.1)
        await loop.sink.next()  # the reminder
        loop.clock.advance(1.0)
        await probe.wait_for("confirmation.no_answer", case["id"])
        await loop.entries(case["id"], "customer_not_answering")
        phone_evidence = await attest(loop, request_id, owner)
        no_message_id = await attest(loop, request_id, owner, **{**evidence, "evidence_ref": "x"})
        stranger = await attest(loop, request_id, "mallory", **evidence)
        done = await attest(loop, request_id, owner, **evidence)
        closed = await loop.case_when(case["id"], lambda c: c["status"] == "closed")
        event = await probe.wait_for("case.closed", case["id"])
        audit = await probe.wait_for("audit.requested", case["id"])
        [entry] = await loop.entries(case["id"], "closed")
        listed = await loop.confirmation.get(
            "/v1/audits", params={"status": "open"}, headers=loop.as_("admin", "admin-1")
        )
    assert too_early.status_code == 409 and too_early.json()["error"]["code"] == "wrong_channel"
    assert phone_evidence.status_code == 422
    assert phone_evidence.json()["error"]["code"] == "evidence_mismatch"
    assert no_message_id.json()["error"]["code"] == "evidence_mismatch"
    assert stranger.status_code == 403
    assert done.status_code == 201, done.text
    assert done.json()["verdict"] == "yes"
    assert closed["outcome"] == "resolved"
    assert event.data["attested"] is True
    assert entry["detail"]["attested"] is True and entry["detail"]["channel"] == "email"
    assert "<r7@mail.example.com>" in entry["detail"]["evidence"]
    assert audit.data["attested"] is True and audit.data["auditor_id"] != owner
    assert [a["request_id"] for a in listed.json()] == [request_id]


async def test_unclear_sms_answer_is_attested_with_the_customers_number(
    env: TestEnv, database: Database
) -> None:
    async with closure_loop(env, database) as loop:
        case = await loop.complaint("sms", PHONE)
        await loop.propose(case)
        code = SMS_CODE.search((await loop.gateway.next()).body)
        assert code
        await loop.sms(f"maybe, not sure yet #{code.group(1)}")
        await loop.entries(case["id"], "confirmation_unclear")
        view = await loop.view(case["id"])
        request_id = view["requests"][0]["id"]
        words = {"evidence_type": "sender_number", "customer_words": "Yes, it is resolved now."}
        other_number = await attest(
            loop, request_id, case["owner_id"], evidence_ref="+14155550000", **words
        )
        done = await attest(
            loop, request_id, case["owner_id"], evidence_ref="+1 415 555 2671", **words
        )
        await loop.case_when(case["id"], lambda c: c["status"] == "closed")
    assert view["requests"][0]["status"] == "pending"
    assert other_number.status_code == 422
    assert other_number.json()["error"]["code"] == "sender_mismatch"
    assert done.status_code == 201 and done.json()["verdict"] == "yes"


@pytest.mark.parametrize("dead", ["spent", "expired"])
async def test_a_dead_web_link_is_reasked_and_the_new_link_closes(
    env: TestEnv, database: Database, dead: str
) -> None:
    async with closure_loop(env, database, web_token_ttl_hours=24) as loop:
        case = await loop.complaint("web", WEB)
        await loop.propose(case)
        old = await new_link(loop, case["id"])
        if dead == "spent":
            answered = await loop.confirmation.post(
                path_of(old), data={"answer": "yes", "comment": "not really fixed"}
            )
            assert answered.status_code == 200
            await loop.entries(case["id"], "confirmation_unclear")
        else:
            loop.clock.advance(25)
        refused = await loop.confirmation.post(path_of(old), data={"answer": "yes"})
        reasked = await owner_post(loop, case, "reask")
        link = await new_link(loop, case["id"], old)
        still_old = await loop.confirmation.post(path_of(old), data={"answer": "yes"})
        done = await loop.confirmation.post(path_of(link), data={"answer": "yes"})
        closed = await loop.case_when(case["id"], lambda c: c["status"] == "closed")
        # Confirmation closes its request when it hears of the closure: wait for that.
        view = await loop.view_when(
            case["id"], lambda v: any(r["status"] == "closed" for r in v.get("requests", []))
        )
    assert refused.status_code == 410
    assert reasked.status_code == 200 and reasked.json()["proposal_no"] == 2
    assert link != old and still_old.status_code == 410
    assert done.status_code == 200 and closed["outcome"] == "resolved"
    ordered = sorted(view["requests"], key=lambda r: r["proposal_no"])
    first_answer = "unclear" if dead == "spent" else None
    assert [(r["status"], r["answer"]) for r in ordered] == [
        ("superseded", first_answer),
        ("closed", "yes"),
    ]


async def test_withdrawn_proposal_goes_back_to_work_and_its_late_yes_changes_nothing(
    env: TestEnv, database: Database
) -> None:
    async with closure_loop(env, database) as loop, env.probe("case.#") as probe:
        case = await loop.complaint("email", EMAIL)
        await loop.propose(case, outcome="cannot_fulfil")
        first = await asked_token(loop)
        no_reason = await owner_post(loop, case, "withdraw", json={})
        stranger = await loop.ownership.post(
            f"/v1/cases/{case['id']}/resolution/withdraw",
            json={"reason": "x"},
            headers=loop.as_("owner", "mallory"),
        )
        body = {"reason": "Finance can refund after all."}
        withdrawn = await owner_post(loop, case, "withdraw", json=body)
        again = await owner_post(loop, case, "withdraw", json=body)
        await probe.wait_for("case.resolution_withdrawn", case["id"])
        retired = await loop.view_when(case["id"], lambda v: v["requests"][0]["status"] == "closed")
        late_yes = await mail_reply(loop, first, "OK, understood.")
        task = await loop.ownership.post(
            f"/v1/cases/{case['id']}/tasks",
            json={"department": "finance", "type": "refund", "description": "Refund 42.00"},
            headers=loop.as_("owner", case["owner_id"]),
        )
        await loop.ownership.post(
            f"/v1/tasks/{task.json()['id']}/complete", headers=loop.as_("department", "finance")
        )
        await loop.case_when(case["id"], lambda c: c["status"] == "in_progress")
        await loop.propose(case)
        second = await asked_token(loop)
        yes = await mail_reply(loop, second, "Yes, the refund arrived, thanks.")
        closed = await loop.case_when(case["id"], lambda c: c["status"] == "closed")
        [entry] = await loop.entries(case["id"], "resolution_withdrawn")
        ignored = [e for e in await loop.timeline(case["id"]) if e["kind"] == "closed"]
    assert no_reason.status_code == 422
    assert stranger.status_code == 403
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["status"] == "in_progress"
    assert withdrawn.json()["proposed_outcome"] is None
    assert again.status_code == 409 and again.json()["error"]["code"] == "invalid_transition"
    assert retired["requests"][0]["closed_reason"].startswith("resolution_withdrawn")
    assert late_yes["reason"] == "token_used"
    assert task.status_code == 201, task.text
    assert entry["detail"]["reason"] == body["reason"] and entry["detail"]["proposal_no"] == 1
    assert yes["verdict"] == "yes"
    assert closed["outcome"] == "resolved" and closed["proposal_no"] == 2
    assert len(ignored) == 1 and ignored[0]["detail"]["proposal_no"] == 2
    assert len(probe.of_type("case.closed", case["id"])) == 1
