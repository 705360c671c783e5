"""The final response step: who may send it, what it carries, what it stops, what it leaves."""

import asyncio
import uuid
from datetime import UTC, datetime

from tests.support.closure import EMAIL, closure_loop
from tests.support.env import Database, TestEnv
from tests.support.ownership import Desk
from tests.support.ownership import desk as desk  # the fixture


async def test_the_owner_sends_the_final_response_with_the_profiles_referral_rights(
    desk: Desk, env: TestEnv
) -> None:
    async with env.probe("#") as probe:
        case_id = await desk.receive(region="UK", received_at=datetime.now(UTC))
        case = await desk.wait_case(case_id)
        url, body = (
            f"/v1/cases/{case_id}/final-response",
            {
                "outcome": "partially_upheld",
                "reasons": "We refunded the fee but not the interest.",
            },
        )
        other = await desk.client.post(url, json=body, headers=desk.as_("owner", "somebody"))
        assert other.status_code == 403
        key = {"Idempotency-Key": str(uuid.uuid4())}
        headers = {**desk.as_("owner", case["owner_id"]), **key}
        sent = await desk.client.post(url, json=body, headers=headers)
        assert sent.status_code == 200, sent.text
        assert sent.json()["status"] != "closed"  # the customer's yes still decides
        again = await desk.client.post(url, json=body, headers=headers)
        assert again.status_code == 200 and again.headers.get("Idempotent-Replayed") == "true"
        twice = await desk.client.post(url, json=body, headers=desk.as_("supervisor"))
        assert twice.json()["error"]["code"] == "final_response_already_sent"
        event = await probe.wait_for("case.final_response_sent", case_id)
        stopped = await probe.wait_for("regulatory.stopped", case_id)
    assert event.data["profile"] == "fca" and event.data["outcome"] == "partially_upheld"
    assert "Financial Ombudsman Service" in event.data["referral_rights"]
    assert len(probe.of_type("case.final_response_sent", case_id)) == 1
    assert stopped.data["clock"] in ("acknowledgement", "final_response")
    kinds = [e["kind"] for e in await desk.timeline(case_id)]
    assert kinds.count("final_response_sent") == 1
    stops = await desk.wait_entry(case_id, "regulatory_stopped", 2)
    assert {e["detail"]["clock"] for e in stops} == {"acknowledgement", "final_response"}


async def test_a_merged_duplicate_is_answered_by_the_final_response_of_its_case(
    desk: Desk, env: TestEnv
) -> None:
    key, now = uuid.uuid4().hex * 2, datetime.now(UTC)
    first, duplicate, late = [
        await desk.receive(region="UK", customer_key=key, received_at=now) for _ in range(3)
    ]
    for case_id in (first, duplicate, late):
        await desk.wait_case(case_id, lambda c: bool(c.get("owner_id")))
    merged = await desk.client.post(
        f"/v1/cases/{duplicate}/merge",
        json={"into": first, "reason": "the same charge"},
        headers=desk.as_("supervisor"),
    )
    assert merged.status_code == 200, merged.text
    body = {"outcome": "upheld", "reasons": "We refunded the second charge."}

    async with env.probe("#") as probe:
        refused = await desk.client.post(
            f"/v1/cases/{duplicate}/final-response", json=body, headers=desk.as_("supervisor")
        )
        assert refused.status_code == 409
        assert refused.json()["error"]["code"] == "case_merged"
        sent = await desk.client.post(
            f"/v1/cases/{first}/final-response", json=body, headers=desk.as_("supervisor")
        )
        assert sent.status_code == 200, sent.text
        stopped = await probe.wait_for(
            "regulatory.stopped", duplicate, lambda e: e.data["clock"] == "final_response"
        )
        # Merged after the answer was sent: that answer covers it at once.
        then = await desk.client.post(
            f"/v1/cases/{late}/merge",
            json={"into": first, "reason": "wrote again"},
            headers=desk.as_("supervisor"),
        )
        assert then.status_code == 200, then.text
        await probe.wait_for(
            "regulatory.stopped", late, lambda e: e.data["clock"] == "final_response"
        )
        await asyncio.sleep(0.3)
    at, due = (datetime.fromisoformat(stopped.data[k]) for k in ("at", "due_at"))
    assert at <= due
    # One message to the customer: the final response is announced for the case it was sent on.
    assert len(probe.of_type("case.final_response_sent", first)) == 1
    assert probe.of_type("case.final_response_sent", duplicate) == []
    [entry] = [e for e in await desk.timeline(duplicate) if e["kind"] == "final_response_sent"]
    assert entry["detail"]["sent_with"] == (await desk.case(first))["reference"]
    assert entry["detail"]["outcome"] == "upheld"
    stops = [e for e in await desk.timeline(late) if e["kind"] == "regulatory_stopped"]
    assert {e["detail"]["step"] for e in stops} >= {"final_response"}


async def test_bad_input_is_refused_with_a_code(desk: Desk) -> None:
    missing = await desk.client.post(
        f"/v1/cases/{uuid.uuid4()}/final-response",
        json={"outcome": "upheld", "reasons": "Yes."},
        headers=desk.as_("supervisor"),
    )
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "case_not_found"
    case_id = await desk.receive()
    await desk.wait_case(case_id)
    for body in ({"outcome": "upheld", "reasons": "  "}, {"outcome": "maybe", "reasons": "x"}):
        refused = await desk.client.post(
            f"/v1/cases/{case_id}/final-response", json=body, headers=desk.as_("supervisor")
        )
        assert refused.status_code == 422, refused.text


async def test_confirmation_sends_the_final_response_once_on_the_customers_channel(
    env: TestEnv, database: Database
) -> None:
    async with closure_loop(env, database) as loop, env.probe("#") as probe:
        case = await loop.complaint("email", EMAIL)
        response = await loop.ownership.post(
            f"/v1/cases/{case['id']}/final-response",
            json={"outcome": "not_upheld", "reasons": "The charge was authorised twice."},
            headers=loop.as_("owner", case["owner_id"]),
        )
        assert response.status_code == 200, response.text
        _, message = await loop.sink.next()
        sent = await probe.wait_for("case.final_response_sent", case["id"])
        await loop.bus.publish(sent)  # the real event, redelivered
        await asyncio.sleep(1.0)
        assert loop.sink.messages.empty(), "a redelivered final response was sent again"
        assert (await loop.case(case["id"]))["status"] != "closed"
        assert str(message["Subject"]).startswith("Our final response to your complaint")
    assert "#" not in str(message["Subject"])  # no token: it asks nothing
    body = message.get_body()
    assert body is not None
    text = body.get_content()
    assert "we do not uphold your complaint" in text
    assert "The charge was authorised twice." in text
    assert "consumerfinance.gov" not in text and "review" in text  # the default profile's words
