"""Regulators' reports against a hand count, on the real broker and both databases."""

import csv
import io
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text

from services.analytics.models import regulatory_clock_facts
from services.analytics.projection.regulatory import business_days_after
from shared.events import (
    CaseClosed,
    CaseFinalResponseSent,
    CasePolicyApplied,
    CaseResolutionProposed,
    ComplaintReceived,
    Envelope,
    EventData,
    RegulatoryClock,
    RegulatoryClockEvent,
    new_event,
)
from shared.timestamps import as_utc
from tests.support.analytics import eventually, publish, scalar, started
from tests.support.env import Database, TestEnv
from tests.support.services import app_of


@pytest.fixture
async def analytics(env: TestEnv, database: Database) -> AsyncIterator[httpx.AsyncClient]:
    async with started(env, database, bus_prefetch=1) as client:
        yield client


def day(text_: str) -> datetime:
    return datetime.fromisoformat(text_).replace(tzinfo=UTC)


class Case:
    def __init__(self, product: str | None, received: str) -> None:
        self.id, self.product, self.received_at = str(uuid.uuid4()), product, day(received)

    def event(self, type_: str, when: datetime, data: EventData, **extra: Any) -> Envelope:
        return new_event(
            type_, data, producer="test", complaint_id=self.id, occurred_at=when, **extra
        )

    def received(self) -> Envelope:
        data = ComplaintReceived(
            reference="CMP-" + self.id[:8].upper(),
            customer_key="k" * 64,
            channel="email",
            contact="ana@example.com",
            category="billing",
            product=self.product,
            description="Charged twice.",
            received_at=self.received_at,
        )
        return self.event("complaint.received", self.received_at, data)

    def policy(self) -> Envelope:
        clock = RegulatoryClock(
            clock="final_response",
            started_at=self.received_at,
            due_at=self.received_at + timedelta(weeks=8),
        )
        data = CasePolicyApplied(profile="fca", clocks=[clock])
        return self.event("case.policy_applied", self.received_at, data)

    def clock(self, kind: str, when: str) -> Envelope:
        data = RegulatoryClockEvent(
            profile="fca",
            clock="final_response",
            started_at=self.received_at,
            due_at=self.received_at + timedelta(weeks=8),
            at=day(when),
        )
        return self.event(f"regulatory.{kind}", day(when), data, routing_suffix="fca")

    def final(self, when: str, outcome: Any) -> Envelope:
        data = CaseFinalResponseSent(
            owner_id="o-1",
            profile="fca",
            outcome=outcome,
            reasons="We looked into it.",
            referral_rights="You may refer to the ombudsman.",
            sent_at=day(when),
        )
        return self.event("case.final_response_sent", day(when), data)

    def proposed(self, when: str) -> Envelope:
        data = CaseResolutionProposed(
            owner_id="o-1", outcome="resolved", summary="Refunded", proposal_no=1
        )
        return self.event("case.resolution_proposed", day(when), data)

    def closed(self, when: str) -> Envelope:
        data = CaseClosed(request_id="r-1", reason="customer confirmed", outcome="resolved")
        return self.event("case.closed", day(when), data)


def test_business_days_skip_weekends() -> None:
    friday, monday = day("2026-11-06").date(), day("2026-11-09").date()
    assert business_days_after(friday, monday) == 1
    assert business_days_after(friday, day("2026-11-11").date()) == 3
    assert business_days_after(day("2026-11-07").date(), day("2026-11-11").date()) == 3
    assert business_days_after(monday, monday) == 0
    assert business_days_after(monday, day("2026-11-23").date()) == 10


# A Friday's complaint answered the next Wednesday is within 3 business days; Thursday is not.
A = Case("Credit card", "2026-11-06T10:00")
B = Case("Credit card", "2026-11-06T10:00")
C = Case("Mortgage", "2026-11-02T09:00")  # resolved and confirmed, no final response
D = Case("Mortgage", "2026-11-07T12:00")  # a Saturday; not upheld on Wednesday
E = Case("Mortgage", "2026-11-02T09:00")  # answered after 8 weeks, the clock breached
F = Case(None, "2026-11-03T09:00")  # never answered
EVENTS = [
    *(A.received(), A.policy(), A.final("2026-11-11T16:00", "upheld")),
    A.clock("stopped", "2026-11-11T16:00"),
    *(B.received(), B.final("2026-11-12T09:00", "partially_upheld")),
    *(C.received(), C.proposed("2026-11-03T09:00"), C.closed("2026-11-04T09:00")),
    *(D.received(), D.final("2026-11-11T09:00", "not_upheld")),
    *(E.received(), E.policy(), E.clock("warning", "2026-12-20T09:00")),
    *(E.clock("breached", "2026-12-28T09:00"), E.final("2027-01-05T09:00", "upheld")),
    F.received(),
]
FCA_ROWS = [
    # product, opened, closed, within 3 business days, within 8 weeks, after, upheld, partly
    ("Credit card", 2, 2, 1, 1, 0, 2, 1),
    ("Mortgage", 3, 3, 2, 0, 1, 2, 0),
    ("unspecified", 1, 0, 0, 0, 0, 0, 0),
    ("total", 6, 5, 3, 1, 1, 4, 1),
]


def as_rows(body: list[dict[str, Any]], columns: Any) -> list[tuple[Any, ...]]:
    return [tuple(r[c] for c in columns) for r in body]


async def test_fca_return_and_cfpb_timeliness_equal_a_hand_count(
    analytics: httpx.AsyncClient, env: TestEnv
) -> None:
    from services.analytics.reports import CFPB_COLUMNS, FCA_COLUMNS

    await publish(env, *EVENTS)
    await eventually(analytics, F.id, lambda r: r.received_at is not None)
    await eventually(analytics, E.id, lambda r: r.final_response_at is not None)
    period = {"from": "2026-11-01T00:00:00Z", "to": "2027-02-01T00:00:00Z"}
    response = await analytics.get("/v1/reports/fca-complaints-return", params=period)
    assert response.status_code == 200, response.text
    assert as_rows(response.json()["rows"], FCA_COLUMNS) == FCA_ROWS

    # November alone: E's final response falls outside, so it is opened but not closed.
    november = {"from": "2026-11-01T00:00:00Z", "to": "2026-12-01T00:00:00Z"}
    body = (await analytics.get("/v1/reports/fca-complaints-return", params=november)).json()
    assert as_rows(body["rows"], FCA_COLUMNS)[1] == ("Mortgage", 3, 2, 2, 0, 0, 1, 0)

    cfpb = (await analytics.get("/v1/reports/cfpb-timeliness", params=november)).json()
    assert as_rows(cfpb["rows"], CFPB_COLUMNS) == [
        # product, received, responded in 15 days, final in 60, untimely, pending
        ("Credit card", 2, 2, 2, 0, 0),
        ("Mortgage", 3, 2, 2, 1, 0),
        ("unspecified", 1, 0, 0, 1, 0),
        ("total", 6, 4, 4, 2, 0),
    ]

    as_csv = await analytics.get(
        "/v1/reports/fca-complaints-return", params=period, headers={"Accept": "text/csv"}
    )
    assert as_csv.status_code == 200 and as_csv.headers["content-type"].startswith("text/csv")
    parsed = list(csv.reader(io.StringIO(as_csv.text)))
    assert tuple(parsed[0]) == FCA_COLUMNS
    assert [tuple(r[:1]) + tuple(map(int, r[1:])) for r in parsed[1:]] == FCA_ROWS
    explicit = await analytics.get(
        "/v1/reports/cfpb-timeliness", params={**november, "format": "csv"}
    )
    assert explicit.text.splitlines()[-1] == "total,6,4,4,2,0"

    clocks = await scalar(
        analytics,
        select(regulatory_clock_facts).where(regulatory_clock_facts.c.complaint_id == E.id),
    )
    assert clocks.profile == "fca" and clocks.breached_at is not None and clocks.met is False
    stopped = await scalar(
        analytics,
        select(regulatory_clock_facts).where(regulatory_clock_facts.c.complaint_id == A.id),
    )
    assert as_utc(stopped.stopped_at) == day("2026-11-11T16:00") and stopped.met is True

    if env.backend == "postgresql":
        engine = app_of(analytics).state.engine
        async with engine.connect() as conn:
            views = await conn.execute(
                text(
                    "SELECT product_group, month, opened, closed, closed_within_3_business_days,"
                    " closed_after_8_weeks, upheld FROM bi.fca_return"
                    " WHERE product_group = 'Mortgage' ORDER BY month"
                )
            )
            assert [tuple(r) for r in views] == [
                ("Mortgage", "2026-11", 3, 2, 2, 0, 1),
                ("Mortgage", "2027-01", 0, 1, 0, 1, 1),
            ]
            count = await conn.execute(text("SELECT count(*) FROM bi.regulatory_clocks"))
            assert count.scalar() == 2


async def test_bad_report_parameters_are_machine_readable_4xx(analytics: httpx.AsyncClient) -> None:
    url = "/v1/reports/fca-complaints-return"
    for params in (
        {},
        {"from": "2026-11-01T00:00:00Z"},
        {"from": "2026-12-01T00:00:00Z", "to": "2026-11-01T00:00:00Z"},
        {"from": "yesterday", "to": "2026-11-01T00:00:00Z"},
        {"from": "2026-11-01T00:00:00Z", "to": "2026-12-01T00:00:00Z", "format": "xml"},
    ):
        for path in (url, "/v1/reports/cfpb-timeliness"):
            response = await analytics.get(path, params=params)
            assert response.status_code == 422, (params, response.text)
            assert "code" in response.json() or "error" in response.json(), response.text
