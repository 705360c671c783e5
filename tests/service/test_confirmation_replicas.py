"""Confirmation as two real OS processes on one PostgreSQL database: each reminder and each
no-answer hand-back happens once, however the replicas' passes interleave.

The schedule is in fractions of an hour so real time runs it: reminders 1.8 s and 3.6 s after
the request, the hand-back 1.8 s after the last reminder. Both replicas poll every 50 ms.
"""

import asyncio
import os
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from shared.events import CaseResolutionProposed, new_event
from tests.support.env import Database, TestEnv
from tests.support.mail import MailSink
from tests.support.ownership import complaint
from tests.support.replica import Replica

CASES = 8


@pytest.fixture
async def replicas_of(
    env: TestEnv, database: Database
) -> AsyncIterator[tuple[dict[str, str], MailSink]]:
    if env.backend != "postgresql":
        pytest.skip("replicas share one database server; SQLite is a single-process store")
    with MailSink() as sink:
        async with database("confirmation") as url:
            yield (
                {
                    **os.environ,
                    "APP_ENV": "test",
                    "BUS_EXCHANGE": env.exchange,
                    "BUS_QUEUE_PREFIX": env.queue_prefix,
                    "CONFIRMATION_DATABASE_URL": url,
                    "OUTBOX_POLL_SECONDS": "0.05",
                    "CONFIRMATION_SMTP_PORT": str(sink.port),
                    "CONFIRMATION_SMTP_LISTEN_ENABLED": "false",
                    "CONFIRMATION_OUTBOUND_POLL_SECONDS": "0.05",
                    "CONFIRMATION_REMINDER_POLL_SECONDS": "0.05",
                    "CONFIRMATION_REMINDER_SCHEDULE_HOURS": "0.0005,0.001",
                    "CONFIRMATION_NO_ANSWER_AFTER_HOURS": "0.0005",
                    "CONFIRMATION_PUBLIC_BASE_URL": "https://complaints.example",
                    "LOG_LEVEL": "WARNING",
                },
                sink,
            )


async def ask(env: TestEnv) -> dict[str, str]:
    """Cases as intake and ownership announce them, each proposed as resolved: case -> mailbox."""
    bus = env.publisher()
    await bus.connect()
    cases = {str(uuid.uuid4()): f"customer{n}@example.com" for n in range(CASES)}
    try:
        for case_id, address in cases.items():
            received = complaint(contact=address, received_at=datetime.now(UTC))
            await bus.publish(
                new_event("complaint.received", received, producer="intake", complaint_id=case_id)
            )
        await asyncio.sleep(1.0)  # the complaints are known before their proposals arrive
        proposed = [
            new_event(
                "case.resolution_proposed",
                CaseResolutionProposed(
                    owner_id="ivan",
                    outcome="resolved",
                    summary="We refunded the second charge.",
                    proposal_no=1,
                ),
                producer="ownership",
                complaint_id=case_id,
            )
            for case_id in cases
        ]
        await bus.publish(*proposed)
    finally:
        await bus.close()
    return cases


async def test_two_replicas_send_each_reminder_and_hand_back_once(
    env: TestEnv, replicas_of: tuple[dict[str, str], MailSink]
) -> None:
    replica_env, sink = replicas_of
    replicas = [Replica("confirmation", replica_env, env.tmp / f"conf{i}.log") for i in range(2)]
    try:
        # Together: the migration lock lets both upgrade the one fresh database at once.
        await asyncio.gather(*[replica.start() for replica in replicas])
        async with env.probe("confirmation.#") as probe:
            cases = await ask(env)
            for case_id in cases:
                await probe.wait_for("confirmation.no_answer", case_id, timeout=40)
            await asyncio.sleep(1.5)  # room for a duplicate to show up, if there were one
            reminders = Counter(
                (e.complaint_id, e.data["reminder_no"])
                for e in probe.of_type("confirmation.reminder_sent")
            )
            handed_back = Counter(e.complaint_id for e in probe.of_type("confirmation.no_answer"))
        assert dict(reminders) == {(c, n): 1 for c in cases for n in (1, 2)}
        assert dict(handed_back) == {c: 1 for c in cases}
        # The question and its two reminders, each in the customer's mailbox once.
        assert {address: len(sink.to(address)) for address in cases.values()} == {
            address: 3 for address in cases.values()
        }
    finally:
        for replica in replicas:
            replica.stop()
