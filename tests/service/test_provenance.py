"""Only the owner of an event type speaks it: broker users, user_id, the consumers' refusal.

A forged `confirmation.confirmed` must never close a case, whoever can reach the broker: the
guest administrator, any other service's login (under its own routing keys, or straight into
ownership's queue), or confirmation itself with a request ownership did not record.
"""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import aio_pika
import aiormq
import pytest

from shared.events import ConfirmationAnswered, ConfirmationRequested, Envelope, new_event
from shared.provenance import refusal
from shared.publishers import OWNERS, SERVICES, owned_by, owner_of
from tests.service.test_ownership_lifecycle import REQUESTS, open_case, propose
from tests.support.env import Database, TestEnv
from tests.support.infra import AMQP_URL, grant_topics, service_url
from tests.support.ownership import Desk, running_desk


def confirmed(case_id: str, request_id: str | None = None) -> Envelope:
    data = ConfirmationAnswered(
        request_id=request_id or REQUESTS[case_id],
        channel="email",
        received_at=datetime.now(UTC),
        evidence="Yes, resolved, thank you",
    )
    return new_event("confirmation.confirmed", data, producer="confirmation", complaint_id=case_id)


def test_every_event_type_has_one_owner_and_analytics_speaks_only_of_erasure() -> None:
    assert set(OWNERS.values()) <= set(SERVICES)
    assert owned_by("analytics") == ["customer.erased.analytics"]
    assert {t for t in OWNERS if t.startswith("confirmation.")} <= set(owned_by("confirmation"))


def test_refusal_names_the_reason() -> None:
    event = confirmed(str(uuid.uuid4()), "r1")
    assert refusal("confirmation", "confirmation.confirmed", event) is None
    assert refusal(None, "confirmation.confirmed", event) == "no_publisher"
    assert refusal("guest", "confirmation.confirmed", event) == "publisher_not_owner"
    assert refusal("intake", "confirmation.confirmed", event) == "publisher_not_owner"
    assert refusal("confirmation", "complaint.received", event) == "routing_key_mismatch"
    assert refusal("confirmation", "confirmation.confirmed.x", event) == "routing_key_mismatch"
    task = event.model_copy(update={"type": "task.created"})
    assert refusal("ownership", "task.created.finance", task) is None
    assert refusal("ownership", "task.createdx", task) == "routing_key_mismatch"
    unknown = event.model_copy(update={"type": "customer.said_yes"})
    assert refusal("confirmation", "customer.said_yes", unknown) == "unknown_type"


async def _publish_raw(
    url: str, exchange: str, routing_key: str, event: Envelope, user_id: str | None
) -> None:
    """Publish with confirms as a given login; the broker's refusal closes the channel."""
    connection = await aio_pika.connect(url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        target = await channel.get_exchange(exchange) if exchange else channel.default_exchange
        message = aio_pika.Message(
            event.model_dump_json().encode(), user_id=user_id, message_id=event.event_id
        )
        await target.publish(message, routing_key=routing_key, timeout=10)
        await asyncio.sleep(0.1)  # an asynchronous channel close arrives after the confirm
        if channel.is_closed:
            raise aio_pika.exceptions.ChannelClosed(0, "closed by the broker")
    finally:
        await connection.close()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_the_broker_lets_a_service_write_only_its_own_routing_keys(
    env: TestEnv, desk: Desk
) -> None:
    await grant_topics(env.exchange)
    event = confirmed(str(uuid.uuid4()), "r1")
    for service in SERVICES:
        if service == "confirmation":
            continue
        with pytest.raises(aiormq.exceptions.ChannelAccessRefused, match="ACCESS_REFUSED"):
            await _publish_raw(
                service_url(service), env.exchange, "confirmation.confirmed", event, service
            )
    # A login cannot claim another's user_id: the broker checks it against the login.
    with pytest.raises(aiormq.exceptions.ChannelPreconditionFailed, match="user_id"):
        await _publish_raw(AMQP_URL, env.exchange, "confirmation.confirmed", event, "confirmation")
    # Analytics publishes nothing at all.
    with pytest.raises(aiormq.exceptions.ChannelAccessRefused):
        await _publish_raw(
            service_url("analytics"), env.exchange, "complaint.received", event, "analytics"
        )
    # The owner's own key goes through.
    await _publish_raw(
        service_url("confirmation"), env.exchange, "confirmation.confirmed", event, "confirmation"
    )


@pytest.fixture
async def desk(env: TestEnv, database: Database) -> AsyncIterator[Desk]:
    async with running_desk(env, database) as running_service:
        yield running_service


async def _dead_letters(env: TestEnv, count: int) -> list[Envelope]:
    """The next `count` messages ownership dead-lettered."""
    connection = await aio_pika.connect(AMQP_URL)
    found: list[Envelope] = []
    try:
        channel = await connection.channel()
        queue = await channel.get_queue(f"{env.queue_prefix}ownership.dlq")
        async with asyncio.timeout(20):
            while len(found) < count:
                message = await queue.get(fail=False, no_ack=True)
                if message is None:
                    await asyncio.sleep(0.1)
                    continue
                found.append(Envelope.model_validate_json(message.body))
    finally:
        await connection.close()
    return found


async def test_forged_confirmations_leave_the_case_open(env: TestEnv, desk: Desk) -> None:
    case = await open_case(desk, channel="email")
    assert (await propose(desk, case)).status_code == 200
    await desk.wait_entry(case["id"], "confirmation_requested")
    queue = f"{env.queue_prefix}ownership"
    forgeries: list[tuple[str, str, str, str | None]] = [
        # (login, exchange, routing key, user_id)
        (AMQP_URL, env.exchange, "confirmation.confirmed", None),
        (AMQP_URL, env.exchange, "confirmation.confirmed", "guest"),
        (AMQP_URL, "", queue, None),
    ]
    for service in SERVICES:
        if service == "confirmation":
            continue
        # Under a routing key the service may write that ownership consumes, when it has one.
        keys = [k for k in owned_by(service) if k.startswith("complaint.")]
        forgeries += [(service_url(service), env.exchange, k, service) for k in keys]
        # Straight into ownership's queue through the default exchange.
        forgeries.append((service_url(service), "", queue, service))
    # Confirmation's own login, but not under the type's routing key.
    forgeries.append((service_url("confirmation"), "", queue, "confirmation"))
    for url, exchange, key, user_id in forgeries:
        await _publish_raw(url, exchange, key, confirmed(case["id"]), user_id)
    refused = await _dead_letters(env, len(forgeries))
    assert {e.type for e in refused} == {"confirmation.confirmed"}
    # Confirmation's login and key, but a request ownership did not record for this proposal.
    await desk.publish(confirmed(case["id"], str(uuid.uuid4())))
    ignored = (await desk.wait_entry(case["id"], "confirmation_ignored"))[0]
    assert ignored["detail"]["reason"] == "request_not_current"
    assert (await desk.case(case["id"]))["status"] == "resolution_proposed"
    # The one real answer closes it: the forgeries above failed for what they were.
    await desk.publish(confirmed(case["id"]))
    closed = await desk.wait_case(case["id"], lambda c: c["status"] == "closed")
    assert closed["outcome"] == "resolved"
    assert owner_of("confirmation.confirmed") == "confirmation"


async def test_an_answer_to_an_earlier_proposal_does_not_close_the_next(
    env: TestEnv, desk: Desk
) -> None:
    case = await open_case(desk, channel="email")
    await propose(desk, case)
    await desk.wait_entry(case["id"], "confirmation_requested")
    first = REQUESTS[case["id"]]
    rejection = confirmed(case["id"]).model_copy(update={"type": "confirmation.rejected"})
    await desk.publish(rejection)
    await desk.wait_case(case["id"], lambda c: c["status"] == "reopened")
    second = await desk.client.post(
        f"/v1/cases/{case['id']}/resolution",
        json={"outcome": "resolved", "summary": "Refunded again."},
        headers=desk.as_("owner", case["owner_id"]),
    )
    assert second.status_code == 200, second.text
    # No request for the second proposal yet: the first one's answer must not close it.
    await desk.publish(confirmed(case["id"], first))
    ignored = (await desk.wait_entry(case["id"], "confirmation_ignored"))[0]
    assert ignored["detail"]["reason"] == "request_of_earlier_proposal"
    assert (await desk.case(case["id"]))["status"] == "resolution_proposed"


async def test_an_answer_handled_before_its_request_waits_for_it(env: TestEnv, desk: Desk) -> None:
    case = await open_case(desk, channel="email")
    proposed = await desk.client.post(
        f"/v1/cases/{case['id']}/resolution",
        json={"outcome": "resolved", "summary": "Refunded."},
        headers=desk.as_("owner", case["owner_id"]),
    )
    assert proposed.status_code == 200, proposed.text
    request_id = str(uuid.uuid4())
    await desk.publish(confirmed(case["id"], request_id))
    await asyncio.sleep(0.5)
    assert (await desk.case(case["id"]))["status"] == "resolution_proposed"
    requested = ConfirmationRequested(
        request_id=request_id, channel="email", sent_at=datetime.now(UTC)
    )
    await desk.publish(
        new_event(
            "confirmation.requested", requested, producer="confirmation", complaint_id=case["id"]
        )
    )
    closed = await desk.wait_case(case["id"], lambda c: c["status"] == "closed")
    assert closed["outcome"] == "resolved"
