"""SLA timers on the real broker and databases, driven by an injected clock.

The timer loop polls once an hour here, so only the test's own `fire_due(at=...)` calls fire.
"""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, text

from services.ownership.app import create_app
from services.ownership.models import timers
from services.ownership.settings import OwnershipSettings
from services.ownership.timers import due_query, fire_due, plan_missing
from shared.bus import Bus
from shared.events import ComplaintPrioritized, Envelope
from shared.timestamps import as_utc
from tests.support.env import Database, TestEnv
from tests.support.ownership import Desk, at, event
from tests.support.services import common_settings, running

ORGANISATION = """
[case_targets]
hours = { P1 = 2, P2 = 4, P3 = 8, P4 = 16 }
warning_fraction = 0.75
calendar = "london"

[calendars.london]
timezone = "Europe/London"
holidays = ["2026-12-25"]

[calendars.london.hours]
mon = "09:00-17:00"
tue = "09:00-17:00"
wed = "09:00-17:00"
thu = "09:00-17:00"
fri = "09:00-17:00"

[calendars.always]
timezone = "UTC"

[calendars.always.hours]
mon = "00:00-24:00"
tue = "00:00-24:00"
wed = "00:00-24:00"
thu = "00:00-24:00"
fri = "00:00-24:00"
sat = "00:00-24:00"
sun = "00:00-24:00"

[teams.billing]
name = "Billing"
lead = "maria"
default = true
categories = ["billing"]
owners = [{ id = "alice", name = "Alice" }]

[departments.finance]
name = "Finance"
calendar = "london"
tasks = { refund = 4 }

[departments.logistics]
name = "Logistics"
calendar = "always"
tasks = { redelivery = 1 }
"""

# No regulator's clock runs past assignment here: these tests count the SLA timers alone.
QUIET_PROFILES = """
default = "quiet"
[profiles.quiet]
name = "Quiet"
referral_rights = "None."
[profiles.quiet.clocks.acknowledgement]
amount = 1
unit = "calendar_hours"
stops_on = ["assigned"]
"""

# Sunday 23 November 2025, 09:00 UTC: the case clock waits for Monday 09:00 London (= UTC).
SUNDAY = datetime(2025, 11, 23, 9, 0, tzinfo=UTC)
MONDAY = datetime(2025, 11, 24, tzinfo=UTC)


@pytest.fixture
async def desk(env: TestEnv, database: Database) -> AsyncIterator[Desk]:
    organisation = env.tmp / "organisation.toml"
    organisation.write_text(ORGANISATION)
    profiles = env.tmp / "policy_profiles.toml"
    profiles.write_text(QUIET_PROFILES)
    async with database("ownership") as url:
        settings = OwnershipSettings(
            **common_settings(env, url, organisation_file=organisation, timer_poll_seconds=3600),
            policy_profiles_file=profiles,
        )
        bus = env.publisher()
        await bus.connect()
        try:
            async with running(create_app(settings)) as client:
                yield Desk(client, settings, bus)
        finally:
            await bus.close()


async def fire(desk: Desk, when: datetime) -> int:
    return await fire_due(desk.app.state.runtime, at=when)


async def test_case_warning_and_breach_fire_once_at_business_hour_times(
    desk: Desk, env: TestEnv
) -> None:
    async with env.probe("sla.#") as probe:
        case_id = await desk.receive(received_at=SUNDAY)
        case = await desk.wait_case(case_id)
        # P3 = 8 business hours from Monday 09:00: due 17:00, warned at 75 % = 15:00.
        assert at(case["due_at"]) == MONDAY + timedelta(hours=17)
        assert await fire(desk, MONDAY + timedelta(hours=14, minutes=59)) == 0
        assert await fire(desk, MONDAY + timedelta(hours=15)) == 1
        assert await fire(desk, MONDAY + timedelta(hours=16)) == 0
        warning = await probe.wait_for("sla.warning", case_id)
        assert await fire(desk, MONDAY + timedelta(days=3)) == 1
        assert await fire(desk, MONDAY + timedelta(days=30)) == 0
        breach = await probe.wait_for("sla.breached", case_id)
        for sla in (warning, breach):
            assert sla.data["subject"] == "case" and sla.data["id"] == case_id
            assert at(sla.data["due_at"]) == MONDAY + timedelta(hours=17)
        assert warning.data["level"] == "warning" and breach.data["level"] == "breach"
        # Case events have no department, hence no routing suffix.
        assert sorted(probe.routing_keys) == ["sla.breached", "sla.warning"]
    shown = await desk.case(case_id)
    assert shown["breached"] is True and shown["customer_clock_hours"] > 24


async def test_reprioritising_replans_the_case_timers(desk: Desk) -> None:
    case_id = await desk.receive(received_at=SUNDAY)
    await desk.wait_case(case_id)
    await desk.publish(
        event(
            "complaint.prioritized",
            ComplaintPrioritized(priority="P1", reasons=["outage"]),
            case_id,
            "escalation",
        )
    )
    case = await desk.wait_case(case_id, lambda c: c.get("priority") == "P1")
    assert at(case["due_at"]) == MONDAY + timedelta(hours=11)
    async with desk.app.state.engine.connect() as conn:
        rows = await conn.execute(
            select(timers.c.kind, timers.c.due_at)
            .where(timers.c.subject_id == case_id)
            .order_by(timers.c.due_at)
        )
        planned = [(kind, as_utc(due)) for kind, due in rows]
    assert planned == [
        ("warning", MONDAY + timedelta(hours=10, minutes=30)),
        ("breach", MONDAY + timedelta(hours=11)),
    ]


async def create_task(desk: Desk, case_id: str, department: str, type_: str) -> dict[str, Any]:
    response = await desk.client.post(
        f"/v1/cases/{case_id}/tasks",
        json={"department": department, "type": type_, "description": "please"},
        headers=desk.as_("supervisor"),
    )
    assert response.status_code == 201, response.text
    task: dict[str, Any] = response.json()
    return task


async def test_a_department_queue_receives_exactly_its_tasks_and_breaches_in_order(
    desk: Desk, env: TestEnv
) -> None:
    received: list[tuple[str, str]] = []

    async def finance_consumer(envelope: Envelope) -> None:
        received.append((str(envelope.data.get("task_id") or envelope.data["id"]), envelope.type))

    queue = f"{env.queue_prefix}finance"
    finance = Bus(env.amqp_url, env.exchange)  # a department, as admin
    await finance.connect()
    bindings = [f"{t}.finance" for t in ("task.created", "sla.warning", "sla.breached")]
    await finance.consume(queue, bindings, finance_consumer)
    try:
        tasks = []
        for _ in range(2):
            case_id = await desk.receive(received_at=SUNDAY)
            await desk.wait_case(case_id)
            tasks.append(await create_task(desk, case_id, "finance", "refund"))
            await create_task(desk, case_id, "logistics", "redelivery")
        far = datetime.now(UTC) + timedelta(days=30)
        assert await fire(desk, far) == 2 * (2 + 2 + 2)  # per case: its own, two tasks'
        expected = {t["id"]: ["task.created", "sla.warning", "sla.breached"] for t in tasks}

        async def settled() -> bool:
            return len(received) >= 6

        from tests.support.ownership import eventually

        await eventually(settled, bool)
        per_task: dict[str, list[str]] = {}
        for task_id, type_ in received:
            per_task.setdefault(task_id, []).append(type_)
        assert per_task == expected
    finally:
        await finance.close()
        await delete_queue(env, queue)


async def delete_queue(env: TestEnv, queue: str) -> None:
    import aio_pika

    connection = await aio_pika.connect(env.amqp_url)
    try:
        channel = await connection.channel()
        await channel.queue_delete(queue)
        await channel.queue_delete(f"{queue}.dlq")
    finally:
        await connection.close()


async def test_the_organisation_shows_calendars_and_who_uses_them(desk: Desk) -> None:
    org = (await desk.client.get("/v1/organisation", headers=desk.as_("supervisor"))).json()
    assert org["calendar"] == "london" and org["calendars"]["london"]["holidays"] == ["2026-12-25"]
    assert {d["id"]: d["calendar"] for d in org["departments"]} == {
        "finance": "london",
        "logistics": "always",
    }


async def test_task_due_time_follows_the_department_calendar(desk: Desk) -> None:
    case_id = await desk.receive(received_at=SUNDAY)
    await desk.wait_case(case_id)
    task = await create_task(desk, case_id, "finance", "refund")
    created = at(task["created_at"])
    async with desk.app.state.engine.connect() as conn:
        breach = await conn.scalar(
            select(timers.c.due_at).where(
                timers.c.subject_id == task["id"], timers.c.kind == "breach"
            )
        )
    assert at(task["due_at"]) == as_utc(breach)
    # Four London business hours are never less than four wall-clock hours.
    assert at(task["due_at"]) >= created + timedelta(hours=4)


async def test_completing_a_task_cancels_its_timers(desk: Desk) -> None:
    case_id = await desk.receive(received_at=SUNDAY)
    await desk.wait_case(case_id)
    task = await create_task(desk, case_id, "logistics", "redelivery")
    response = await desk.client.post(
        f"/v1/tasks/{task['id']}/complete", json={}, headers=desk.as_("department", "logistics")
    )
    assert response.status_code == 200, response.text
    async with desk.app.state.engine.connect() as conn:
        pending = await conn.scalar(
            select(timers.c.id).where(
                timers.c.subject_id == task["id"], timers.c.fired_at.is_(None)
            )
        )
    assert pending is None


async def test_only_the_tasks_department_acknowledges_and_only_once(
    desk: Desk, env: TestEnv
) -> None:
    case_id = await desk.receive(received_at=SUNDAY)
    await desk.wait_case(case_id)
    task = await create_task(desk, case_id, "finance", "refund")
    url = f"/v1/tasks/{task['id']}/acknowledge"
    async with env.probe("task.acknowledged.#") as probe:
        for role, subject in (("department", "logistics"), ("supervisor", "finance")):
            refused = await desk.client.post(url, headers=desk.as_(role, subject))
            assert refused.status_code == 403, refused.text
        done = await desk.client.post(url, headers=desk.as_("department", "finance"))
        assert done.status_code == 200 and done.json()["acknowledged_by"] == "department:finance"
        again = await desk.client.post(url, headers=desk.as_("department", "finance"))
        assert (
            again.status_code == 409
            and again.json()["error"]["code"] == "task_already_acknowledged"
        )
        acknowledged = await probe.wait_for("task.acknowledged", case_id)
        assert probe.routing_keys == ["task.acknowledged.finance"]
        assert acknowledged.data["task_id"] == task["id"]
    missing = await desk.client.post(
        f"/v1/tasks/{uuid.uuid4()}/acknowledge", headers=desk.as_("department", "finance")
    )
    assert missing.status_code == 404


async def test_the_due_scan_reads_the_pending_due_time_index(desk: Desk) -> None:
    query = due_query(datetime.now(UTC), 100)
    async with desk.app.state.engine.connect() as conn:
        compiled = str(query.compile(conn.sync_connection, compile_kwargs={"literal_binds": True}))
        if conn.dialect.name == "postgresql":
            # On a tiny table the planner rightly prefers a scan; forbid it to see the index fit.
            await conn.execute(text("SET enable_seqscan = off"))
            plan = "\n".join(r[0] for r in await conn.execute(text("EXPLAIN " + compiled)))
            assert "FOR UPDATE SKIP LOCKED" in compiled
        else:
            rows = await conn.execute(text("EXPLAIN QUERY PLAN " + compiled))
            plan = "\n".join(str(r[-1]) for r in rows)
    assert "ix_timers_pending_due" in plan, plan


async def test_open_cases_and_tasks_without_timers_get_them_once_at_start(desk: Desk) -> None:
    case_id = await desk.receive(received_at=SUNDAY)
    await desk.wait_case(case_id)
    task = await create_task(desk, case_id, "finance", "refund")
    runtime = desk.app.state.runtime
    async with runtime.uow() as uow:
        before = (await uow.conn.execute(select(timers.c.kind, timers.c.due_at))).all()
        await uow.conn.execute(timers.delete())  # as after the upgrade that added timers
        assert await plan_missing(uow.conn) == 2
        assert await plan_missing(uow.conn) == 0
        after = (await uow.conn.execute(select(timers.c.kind, timers.c.due_at))).all()
        await uow.commit()
    assert sorted((k, as_utc(d)) for k, d in after) == sorted((k, as_utc(d)) for k, d in before)
    assert len(after) == 4 and task["id"]
