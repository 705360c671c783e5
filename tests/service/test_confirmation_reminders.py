"""No answer: reminders on the same channel, then the owner follows up; never a closure by time.

Confirmation's clock is moved forward instead of sleeping; its reminder worker polls quickly.
"""

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.support.closure import PHONE, SMS_CODE, closure_loop
from tests.support.env import Database, TestEnv


async def test_reminders_follow_the_schedule_then_the_owner_is_asked_to_follow_up(
    env: TestEnv, database: Database
) -> None:
    async with (
        closure_loop(
            env, database, reminder_schedule_hours="48,120", no_answer_after_hours=48
        ) as loop,
        env.probe("confirmation.#") as probe,
    ):
        case = await loop.complaint("sms", PHONE)
        await loop.propose(case)
        await loop.gateway.next()
        loop.clock.advance(47)
        await asyncio.sleep(0.3)
        assert loop.gateway.messages.empty()
        loop.clock.advance(2)
        first = await loop.gateway.next()
        one = await probe.wait_for("confirmation.reminder_sent", case["id"])
        loop.clock.advance(72)
        second = await loop.gateway.next()
        loop.clock.advance(46)  # 167 h after the request: the follow-up is due at 120 + 48
        await asyncio.sleep(0.3)
        assert not probe.of_type("confirmation.no_answer", case["id"])
        loop.clock.advance(2)
        no_answer = await probe.wait_for("confirmation.no_answer", case["id"])
        [entry] = await loop.entries(case["id"], "customer_not_answering")
        loop.clock.advance(24 * 30)
        await asyncio.sleep(0.3)
        assert loop.gateway.messages.empty()
        assert (await loop.case(case["id"]))["status"] == "resolution_proposed"
        # The customer can still answer, with the latest reminder's code.
        code = SMS_CODE.search(second.body)
        assert code
        await loop.sms(f"yes #{code.group(1)}")
        await loop.case_when(case["id"], lambda c: c["status"] == "closed")
    assert first.body.startswith("Reminder 1:") and second.body.startswith("Reminder 2:")
    assert first.to == PHONE
    assert one.data["reminder_no"] == 1 and one.data["channel"] == "sms"
    assert len(probe.of_type("confirmation.reminder_sent", case["id"])) == 2
    assert no_answer.data["reminders_sent"] == 2
    assert entry["detail"]["follow_up"] == case["owner_id"]


async def test_messages_to_one_customer_are_rate_limited(env: TestEnv, database: Database) -> None:
    async with closure_loop(
        env, database, outbound_max_per_contact=1, outbound_rate_window_hours=24
    ) as loop:
        first = await loop.complaint("sms", PHONE)
        second = await loop.complaint("sms", PHONE)
        await loop.propose(first)
        await loop.gateway.next()
        await loop.propose(second)
        view = await loop.view_when(
            second["id"],
            lambda v: bool(v.get("outbound")) and v["outbound"][0]["last_error"] == "rate_limited",
        )
        await asyncio.sleep(0.3)
        assert loop.gateway.messages.empty()
        loop.clock.advance(24)
        late = await loop.gateway.next()
    assert view["outbound"][0]["status"] == "queued"
    assert late.to == PHONE


def next_local(zone: str, hour: int) -> datetime:
    """The next `hour`:00 in `zone` after now, in UTC."""
    here = datetime.now(ZoneInfo(zone)).replace(minute=0, second=0, microsecond=0)
    moment = here.replace(hour=hour)
    if moment <= datetime.now(ZoneInfo(zone)):
        moment += timedelta(days=1)
    return moment.astimezone(UTC)


async def test_texts_wait_out_the_customers_night_and_email_does_not(
    env: TestEnv, database: Database
) -> None:
    held = "reminder,request,final_response"
    async with closure_loop(
        env,
        database,
        quiet_hours_enabled=True,
        quiet_hours_kinds=held,
        acknowledgement_enabled=True,
    ) as loop:
        night = next_local("America/Los_Angeles", 3)  # PHONE is in San Francisco
        loop.clock.now = night
        case = await loop.complaint("sms", PHONE)
        ack = await loop.gateway.next()  # the customer's own message is answered at once
        await loop.propose(case)
        view = await loop.view_when(
            case["id"],
            lambda v: any(m["last_error"] == "quiet_hours" for m in v["outbound"]),
        )
        with pytest.raises(TimeoutError):
            await loop.gateway.next(timeout=1.0)
        mailed = await loop.complaint("email", "night.owl@example.com")
        await loop.propose(mailed)
        await loop.sink.next()  # the acknowledgement
        await loop.sink.next()  # the question: mail waits for nobody
        loop.clock.now = night + timedelta(hours=4, minutes=59)
        with pytest.raises(TimeoutError):  # 07:59 there
            await loop.gateway.next(timeout=0.5)
        loop.clock.now = night + timedelta(hours=5, minutes=1)
        asked = await loop.gateway.next()
    assert ack.to == PHONE and not SMS_CODE.search(ack.body)
    assert SMS_CODE.search(asked.body)
    [held] = [m for m in view["outbound"] if m["last_error"] == "quiet_hours"]
    assert held["status"] == "queued" and held["kind"] == "request"


async def test_by_default_a_reminder_waits_for_the_morning_and_the_question_does_not(
    env: TestEnv, database: Database
) -> None:
    async with closure_loop(env, database, quiet_hours_enabled=True) as loop:
        night = next_local("America/Los_Angeles", 3)
        loop.clock.now = night
        case = await loop.complaint("sms", PHONE)
        await loop.propose(case)
        asked = await loop.gateway.next()  # the owner's question goes: someone waits for it
        loop.clock.advance(48)  # the first reminder is due, at 03:00 there again
        await loop.view_when(
            case["id"],
            lambda v: any(m["last_error"] == "quiet_hours" for m in v["outbound"]),
        )
        with pytest.raises(TimeoutError):
            await loop.gateway.next(timeout=1.0)
        loop.clock.advance(5 + 1 / 60)
        reminded = await loop.gateway.next()
    assert SMS_CODE.search(asked.body) and SMS_CODE.search(reminded.body)
