"""Every KPI against hand-computed values on a small known event set, and rebuild == incremental.

The events are published shuffled, with duplicates and an incident before its complaints, so
the figures hold whatever the arrival order.
"""

import random
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from services.analytics.models import EXPORTABLE, complaint_facts, incident_facts
from services.analytics.projection.ingest import ingest
from shared.db import make_engine, upgrade_database_async
from shared.events import (
    AuditCompleted,
    CaseAssigned,
    CaseClosed,
    CaseEscalated,
    CaseReopened,
    CaseResolutionProposed,
    ConfirmationAnswered,
    CustomerSatisfactionGiven,
    Envelope,
    IncidentDetected,
    SlaEvent,
    TaskCompleted,
    TaskCreated,
    new_event,
)
from tests.support.analytics import T0, Story, at, eventually, publish, scalar, started
from tests.support.env import Database, TestEnv
from tests.support.services import app_of, auth

MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "analytics" / "migrations"
PERIOD = {"from": T0.isoformat(), "to": (T0 + timedelta(days=10)).isoformat()}


class Case(Story):
    """A complaint's lifecycle events, richer than Story's: due times, tasks, SLAs, audits."""

    def assigned_due(self, hours: float, owner: str, due: float) -> Envelope:
        data = CaseAssigned(owner_id=owner, team="t-" + owner, due_at=at(due))
        return self.event("case.assigned", hours, data)

    def proposal(self, hours: float, no: int, outcome: Any = "resolved") -> Envelope:
        data = CaseResolutionProposed(owner_id="o", outcome=outcome, summary="s", proposal_no=no)
        return self.event("case.resolution_proposed", hours, data)

    def answer(
        self, kind: str, hours: float, attested: bool = False, channel: Any = None
    ) -> Envelope:
        data = ConfirmationAnswered(
            request_id=f"r-{self.id}-{hours}",
            channel=channel or self.channel,
            received_at=at(hours),
            evidence="yes",
            attested=attested,
        )
        return self.event(f"confirmation.{kind}", hours, data)

    def closure(self, hours: float, outcome: str = "resolved", attested: bool = False) -> Envelope:
        data = CaseClosed(request_id="r", reason="yes", outcome=outcome, attested=attested)
        return self.event("case.closed", hours, data)

    def reopen(self, hours: float) -> Envelope:
        data = CaseReopened(request_id="r", reason="no", reopen_count=1)
        return self.event("case.reopened", hours, data)

    def task(self, hours: float, task_id: str, department: str, due: float) -> Envelope:
        data = TaskCreated(task_id=task_id, department=department, type="check", due_at=at(due))
        return self.event("task.created", hours, data)

    def task_done(self, hours: float, task_id: str, department: str, due: float) -> Envelope:
        data = TaskCompleted(
            task_id=task_id,
            department=department,
            type="check",
            due_at=at(due),
            completed_at=at(hours),
        )
        return self.event("task.completed", hours, data)

    def breached(
        self, hours: float, subject: Any, subject_id: str, department: Any = None
    ) -> Envelope:
        data = SlaEvent(
            subject=subject, id=subject_id, department=department, due_at=at(hours), level="breach"
        )
        return self.event("sla.breached", hours, data)

    def escalated(self, hours: float) -> Envelope:
        data = CaseEscalated(level="team_lead", to="lead-1", reason="breach")
        return self.event("case.escalated", hours, data)

    def audited(self, hours: float, outcome: Any) -> Envelope:
        data = AuditCompleted(complaint_id=self.id, outcome=outcome, audit_id=f"a-{self.id}")
        return self.event("audit.completed", hours, data)

    def rated(self, hours: float, score: int) -> Envelope:
        data = CustomerSatisfactionGiven(
            inbound_id=f"in-{self.id}",
            channel=self.channel,
            score=score,
            comment="My card number is 4417 and you were slow.",
            answered_at=at(hours),
        )
        return self.event("customer.satisfaction_given", hours, data)


def known_set() -> tuple[dict[str, Case], list[Envelope]]:
    a, b, c, d = Case("email"), Case("email"), Case("phone"), Case("sms")
    e, f, g = Case("sms"), Case("web"), Case("email")
    confirmed_a = a.answer("confirmed", 12)
    breach_t2 = c.breached(10, "task", "T2-" + c.id, "field")
    incident = new_event(
        "incident.detected",
        IncidentDetected(
            incident_id="I-" + a.id, pattern={"product": "card"}, complaint_ids=[a.id, d.id]
        ),
        producer="test",
        complaint_id=None,
        occurred_at=at(8),
    )
    events = [
        *(a.received(0, product="card"), a.prioritized(0.1, "P1"), a.assigned_due(1, "o-1", 48)),
        *(a.proposal(10, 1), confirmed_a, confirmed_a, a.closure(12), a.rated(13, 5)),
        *(b.received(1), b.assigned_due(1.5, "o-2", 25), b.task(2, "T1-" + b.id, "it", 20)),
        *(b.task_done(15, "T1-" + b.id, "it", 20), b.proposal(20, 1), b.answer("rejected", 22)),
        *(b.reopen(22.1), b.proposal(30, 2), b.answer("confirmed", 41), b.closure(41)),
        *(b.audited(60, "failed"), b.rated(42, 2)),
        *(c.received(2), c.assigned_due(2.5, "o-1", 26), c.task(3, "T2-" + c.id, "field", 10)),
        *(breach_t2, breach_t2, c.task_done(14, "T2-" + c.id, "field", 10)),
        *(c.task(4, "T3-" + c.id, "it", 30), c.task_done(5, "T3-" + c.id, "it", 30)),
        *(c.breached(26, "case", c.id), c.escalated(26.5), c.proposal(30, 1, "cannot_fulfil")),
        *(c.answer("confirmed", 32, attested=True), c.closure(32, "cannot_fulfil", attested=True)),
        c.audited(50, "passed"),
        *(d.received(3), d.assigned_due(3.5, "o-2", 27), d.proposal(5, 1)),
        *(d.answer("rejected", 6), d.reopen(6.1), d.answer("confirmed", 7, channel="email")),
        *(e.received(200), f.received(239.5), g.received(-100), incident),
    ]
    random.Random(6).shuffle(events)
    sentinel = Case("letter")
    return {"a": a, "b": b, "c": c, "d": d, "sentinel": sentinel}, [
        *events,
        sentinel.received(-200),
    ]


BACKLOG_ZERO = {"under_1d": 0, "1d_to_3d": 0, "3d_to_7d": 0, "7d_to_30d": 0, "over_30d": 0}
NOTHING = {
    "rejected_resolutions": 0,
    "closed_confirmed": 0,
    "reopen_rate": None,
    "median_hours_to_confirmation": None,
    "p90_hours_to_confirmation": None,
    "median_hours_claimed_to_confirmed": None,
    "resolved_rejected_share": None,
    "audit_failure_rate": None,
    "attested_share": None,
    "cannot_fulfil_share": None,
    "first_contact_resolution_rate": None,
    "department_sla_compliance": None,
    "marked_resolved": 0,
    "resolved_on_time_share": None,
    "confirmed_on_time_share": None,
    "satisfaction_answers": 0,
    "satisfaction_average": None,
    "satisfied_share": None,
    "unconfirmed_backlog": BACKLOG_ZERO,
}
TOTALS: dict[str, Any] = {
    "received": 6,
    "closed_confirmed": 3,
    "rejected_resolutions": 2,
    "reopen_rate": 0.5,
    "median_hours_to_confirmation": 30.0,
    "p90_hours_to_confirmation": 38.0,
    "median_hours_claimed_to_confirmed": 11.5,
    "resolved_rejected_share": 0.5,
    "audit_failure_rate": 0.5,
    "attested_share": 0.3333,
    "cannot_fulfil_share": 0.3333,
    "first_contact_resolution_rate": 0.3333,
    "department_sla_compliance": 0.6667,
    "marked_resolved": 4,
    "resolved_on_time_share": 0.75,
    "confirmed_on_time_share": 0.25,
    "satisfaction_answers": 2,
    "satisfaction_average": 3.5,
    "satisfied_share": 0.5,
    "unconfirmed_backlog": {**BACKLOG_ZERO, "under_1d": 1, "1d_to_3d": 1, "7d_to_30d": 1},
}
BY_CHANNEL: list[dict[str, Any]] = [
    {
        "key": "email",
        "received": 2,
        "closed_confirmed": 2,
        "rejected_resolutions": 1,
        "reopen_rate": 0.5,
        "median_hours_to_confirmation": 26.0,
        "p90_hours_to_confirmation": 37.2,
        "median_hours_claimed_to_confirmed": 11.5,
        "resolved_rejected_share": 0.3333,
        "audit_failure_rate": 1.0,
        "attested_share": 0.0,
        "cannot_fulfil_share": 0.0,
        "first_contact_resolution_rate": 0.5,
        "department_sla_compliance": 1.0,
        "marked_resolved": 2,
        "resolved_on_time_share": 1.0,
        "confirmed_on_time_share": 0.5,
        "satisfaction_answers": 2,
        "satisfaction_average": 3.5,
        "satisfied_share": 0.5,
        "unconfirmed_backlog": BACKLOG_ZERO,
    },
    {
        "key": "phone",
        "received": 1,
        "closed_confirmed": 1,
        "rejected_resolutions": 0,
        "reopen_rate": 0.0,
        "median_hours_to_confirmation": 30.0,
        "p90_hours_to_confirmation": 30.0,
        "median_hours_claimed_to_confirmed": None,
        "resolved_rejected_share": None,
        "audit_failure_rate": 0.0,
        "attested_share": 1.0,
        "cannot_fulfil_share": 1.0,
        "first_contact_resolution_rate": 0.0,
        "department_sla_compliance": 0.5,
        "marked_resolved": 1,
        "resolved_on_time_share": 0.0,
        "confirmed_on_time_share": 0.0,
        "satisfaction_answers": 0,
        "satisfaction_average": None,
        "satisfied_share": None,
        "unconfirmed_backlog": BACKLOG_ZERO,
    },
    {
        **NOTHING,
        "key": "sms",
        "received": 2,
        "rejected_resolutions": 1,
        "reopen_rate": 1.0,
        "resolved_rejected_share": 1.0,
        "marked_resolved": 1,
        "resolved_on_time_share": 1.0,
        "confirmed_on_time_share": 0.0,
        "unconfirmed_backlog": {**BACKLOG_ZERO, "1d_to_3d": 1, "7d_to_30d": 1},
    },
    {
        **NOTHING,
        "key": "web",
        "received": 1,
        "unconfirmed_backlog": {**BACKLOG_ZERO, "under_1d": 1},
    },
]


async def loaded(client: httpx.AsyncClient, env: TestEnv) -> dict[str, Case]:
    cases, events = known_set()
    await publish(env, *events)
    await eventually(client, cases["sentinel"].id, lambda r: r.received_at is not None)
    return cases


async def kpis(client: httpx.AsyncClient, group_by: str) -> Any:
    response = await client.get("/v1/kpis", params={**PERIOD, "group_by": group_by})
    assert response.status_code == 200, response.text
    return response.json()


async def test_every_kpi_matches_hand_computed_values(env: TestEnv, database: Database) -> None:
    async with started(env, database, bus_prefetch=1) as client:
        cases = await loaded(client, env)
        by_channel = await kpis(client, "channel")
        assert by_channel["totals"] == TOTALS
        assert by_channel["exact_percentiles"] is True
        assert by_channel["groups"] == BY_CHANNEL
        assert set(by_channel["definitions"]) == set(TOTALS)
        by_department = await kpis(client, "department")
        assert [
            (g["key"], g["received"], g["department_sla_compliance"])
            for g in by_department["groups"]
        ] == [("field", 1, 0.0), ("it", 1, 1.0), (None, 4, None)]
        by_week = await kpis(client, "week")
        assert [(g["key"], g["received"]) for g in by_week["groups"]] == [
            ("2026-W45", 4),
            ("2026-W46", 2),
        ]
        by_month = await kpis(client, "month")
        assert [(g["key"], g["received"]) for g in by_month["groups"]] == [("2026-11", 6)]

        c = await eventually(client, cases["c"].id, lambda r: r.closed_at is not None)
        assert (c.breaches, c.escalations, c.tasks, c.tasks_met, c.tasks_missed) == (2, 1, 2, 1, 1)
        assert (c.department, c.audit_outcome, c.attested, c.outcome) == (
            "field",
            "passed",
            True,
            "cannot_fulfil",
        )
        incident_id = "I-" + cases["a"].id
        for name in ("a", "d"):
            row = await eventually(client, cases[name].id, lambda r: r.incident_id is not None)
            assert row.incident_id == incident_id
        incident = await scalar(client, select(incident_facts.c.complaints))
        assert incident.complaints == 2


async def fact_rows(client: httpx.AsyncClient) -> dict[str, list[Any]]:
    engine = app_of(client).state.engine
    async with engine.connect() as conn:
        return await rows_of(conn)


async def rows_of(conn: Any) -> dict[str, list[Any]]:
    """Every fact table's rows, in key order (complaint_facts without its updated_at)."""
    tables: dict[str, list[Any]] = {}
    for name, table in EXPORTABLE.items():
        columns = [c for c in table.columns if c.name != "updated_at" or name != "complaint_facts"]
        rows = await conn.execute(select(*columns).order_by(*table.primary_key.columns))
        tables[name] = [tuple(r) for r in rows]
    return tables


async def test_rebuild_from_the_archive_gives_identical_facts_and_kpis(
    env: TestEnv, database: Database
) -> None:
    async with started(env, database, bus_prefetch=1) as client:
        await loaded(client, env)
        before = {g: await kpis(client, g) for g in ("channel", "department", "week")}
        facts = await fact_rows(client)
        settings = app_of(client).state.settings
        assert (await client.post("/v1/admin/rebuild")).status_code == 403
        rebuilt = await client.post("/v1/admin/rebuild", headers=auth(settings, "admin"))
        assert rebuilt.status_code == 200, rebuilt.text
        assert rebuilt.json()["streams"] == 9  # eight complaints and one incident
        assert await fact_rows(client) == facts
        for group_by, report in before.items():
            after = await kpis(client, group_by)
            assert {**after, "as_of": None} == {**report, "as_of": None}
        assert len(facts["complaint_facts"]) == 8 and len(facts["task_facts"]) == 3
        assert (await scalar(client, select(complaint_facts.c.complaint_id))) is not None


async def test_one_batch_with_duplicates_equals_event_by_event(
    env: TestEnv, database: Database
) -> None:
    cases, events = known_set()
    async with database("analytics_batch") as url:
        await upgrade_database_async(MIGRATIONS, url)
        engine = make_engine(url)
        try:
            async with engine.begin() as conn:
                assert await ingest(conn, [*events, *events[:5]]) == len(events) - 2
            async with started(env, database, bus_prefetch=1) as client:
                await publish(env, *events)
                await eventually(client, cases["sentinel"].id, lambda r: r.received_at is not None)
                incremental = await fact_rows(client)
            async with engine.connect() as conn:
                batched = await rows_of(conn)
        finally:
            await engine.dispose()
    assert batched == incremental
