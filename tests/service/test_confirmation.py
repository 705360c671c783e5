"""Confirmation asks the customer by real email (SMTP on loopback), on both database backends.

The harness here is shared with test_confirmation_replies.py: a mail sink that stands for the
customer's mailbox, and the service with its own SMTP listener for the customer's replies.
"""

import asyncio
import uuid

from tests.support.confirmation import (
    CUSTOMER,
    SUMMARY,
    complaint_received,
    confirmation_service,
)
from tests.support.env import Database, TestEnv
from tests.support.services import auth


async def test_customer_is_asked_by_email_at_the_original_address(
    env: TestEnv, database: Database
) -> None:
    async with confirmation_service(env, database) as h, env.probe("confirmation.#") as probe:
        complaint_id = await h.complaint()
        proposal = await h.propose(complaint_id)
        message, token = await h.asked()
        requested = await probe.wait_for("confirmation.requested", complaint_id)
        view = await h.confirmations(complaint_id)
    reference = view["reference"]
    assert message["To"] == CUSTOMER
    assert message["From"] == "Complaints <confirm@complaints.localhost>"
    assert message["Reply-To"] == "confirm@complaints.localhost"
    assert (
        message["Subject"] == f"Is your complaint {reference} resolved? [ref {reference} #{token}]"
    )
    assert message["Message-ID"]
    body = message.get_content()
    assert SUMMARY in body and "Reply YES" in body and "Reply NO" in body
    assert "keep the subject line" in body
    [request] = view["requests"]
    assert request["status"] == "pending" and request["channel"] == "email"
    assert request["contact"] == CUSTOMER and request["proposal_no"] == 1
    assert requested.data["request_id"] == request["id"] and requested.data["channel"] == "email"
    assert requested.correlation_id == proposal.correlation_id
    assert request["created_at"].endswith("Z")
    [sent] = view["outbound"]
    assert sent["status"] == "sent" and sent["attempts"] == 1 and sent["sent_at"]
    assert sent["subject"].endswith("#\u2026]")  # the words kept, the token gone
    assert token not in str(view) and "token_hash" not in str(view)


async def test_cannot_fulfil_asks_for_an_acknowledgement(env: TestEnv, database: Database) -> None:
    explanation = "The law does not allow us to refund a used ticket."
    async with confirmation_service(env, database) as h:
        complaint_id = await h.complaint()
        await h.propose(complaint_id, outcome="cannot_fulfil", summary=explanation)
        message, _ = await h.asked()
    body = message.get_content()
    assert explanation in body and "cannot do what you asked" in body
    assert "Reply YES to acknowledge" in body


async def test_redelivered_proposal_sends_one_email(env: TestEnv, database: Database) -> None:
    async with confirmation_service(env, database) as h, env.probe("confirmation.#") as probe:
        complaint_id = await h.complaint()
        proposal = await h.propose(complaint_id)
        await h.bus.publish(proposal)
        await h.propose(complaint_id)  # the same proposal under a new event id
        await h.asked()
        await probe.wait_for("confirmation.requested", complaint_id)
        await asyncio.sleep(0.5)  # room for a wrongly created second request to be sent
        view = await h.confirmations(complaint_id)
        assert h.sink.messages.empty()
    assert len(view["requests"]) == 1 and len(view["outbound"]) == 1
    assert len(probe.of_type("confirmation.requested", complaint_id)) == 1


async def test_proposal_that_overtakes_its_complaint_is_retried(
    env: TestEnv, database: Database
) -> None:
    async with confirmation_service(env, database) as h:
        complaint_id = str(uuid.uuid4())
        await h.propose(complaint_id)
        await asyncio.sleep(0.3)
        await h.bus.publish(complaint_received(complaint_id, "email", CUSTOMER))
        message, _ = await h.asked()
    assert message["To"] == CUSTOMER


async def test_failed_send_is_retried_until_the_mail_server_answers(
    env: TestEnv, database: Database
) -> None:
    async with confirmation_service(
        env, database, outbound_retry_base_seconds=0.1, outbound_retry_max_seconds=0.2
    ) as h:
        await h.sink.stop()
        complaint_id = await h.complaint()
        await h.propose(complaint_id)
        view = await h.view_when(
            complaint_id, lambda v: bool(v["outbound"]) and v["outbound"][0]["attempts"] >= 2
        )
        assert view["outbound"][0]["status"] == "queued" and view["outbound"][0]["last_error"]
        await h.sink.start()
        message, _ = await h.asked()
        view = await h.view_when(complaint_id, lambda v: v["outbound"][0]["status"] == "sent")
        [sent] = view["outbound"]
    assert message["To"] == CUSTOMER
    assert sent["status"] == "sent" and sent["attempts"] >= 3


async def test_confirmations_need_a_reading_role(env: TestEnv, database: Database) -> None:
    async with confirmation_service(env, database) as h:
        complaint_id = await h.complaint()
        url = "/v1/confirmations"
        params = {"complaint_id": complaint_id}
        await h.view_when(complaint_id, lambda v: v["reference"] is not None)
        anonymous = await h.client.get(url, params=params, headers={"Authorization": ""})
        frontend = await h.client.get(url, params=params, headers=auth(h.settings, "frontend"))
        owner = await h.client.get(url, params=params, headers=auth(h.settings, "owner", "o-1"))
        missing = await h.client.get(url)
        unknown = await h.client.get(url, params={"complaint_id": str(uuid.uuid4())})
        department = await h.client.get(url, params=params, headers=auth(h.settings, "department"))
    assert anonymous.status_code == 401
    assert frontend.status_code == 200
    assert department.status_code == 403 and department.json()["error"]["code"] == "forbidden"
    # An owner reads the messages of the cases they own (tests/service/test_owner_messages.py);
    # o-1 owns none here.
    assert owner.status_code == 403 and owner.json()["error"]["code"] == "not_case_owner"
    assert missing.status_code == 422
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "complaint_not_found"
