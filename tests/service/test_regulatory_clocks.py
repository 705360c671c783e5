"""Regulators' clocks on the real broker and databases: the profile chosen as the case opens."""

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from services.ownership.app import create_app
from services.ownership.models import outbox, timers
from services.ownership.policies import PolicyError
from services.ownership.settings import OwnershipSettings
from services.ownership.timers import fire_due
from tests.support.env import TestEnv
from tests.support.ownership import Desk, at, eventually
from tests.support.ownership import desk as desk  # the fixture

# Friday 27 November 2026, 15:00 UTC (London is on UTC): three business days end Wednesday 17:00.
FRIDAY = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)


def clocks_of(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["clock"]: c for c in data["clocks"]}


async def test_a_uk_complaint_runs_on_fca_clocks_and_its_acknowledgement_stops_on_assignment(
    desk: Desk, env: TestEnv
) -> None:
    async with env.probe("#") as probe:
        case_id = await desk.receive(received_at=FRIDAY, region="UK", product="Mortgage")
        applied = await probe.wait_for("case.policy_applied", case_id)
        stopped = await probe.wait_for("regulatory.stopped", case_id)
        keys = [k for k in probe.routing_keys if k.startswith("regulatory.")]
    assert applied.data["profile"] == "fca" and applied.producer == "ownership"
    clocks = clocks_of(applied.data)
    assert set(clocks) == {"acknowledgement", "summary_resolution", "final_response"}
    assert at(clocks["summary_resolution"]["due_at"]) == datetime(2026, 12, 2, 17, tzinfo=UTC)
    assert at(clocks["final_response"]["due_at"]) == FRIDAY + timedelta(weeks=8)
    assert stopped.data["clock"] == "acknowledgement" and keys == ["regulatory.stopped.fca"]
    entries = await desk.wait_entry(case_id, "regulatory_stopped")
    # Received last Friday, opened only now: the acknowledgement came after its business day.
    assert entries[0]["detail"]["in_time"] is False
    [policy] = await desk.wait_entry(case_id, "policy_applied")
    assert policy["detail"]["profile"] == "fca" and policy["detail"]["rule"] == 1


@pytest.mark.parametrize(
    ("product", "region", "profile", "final_due"),
    [
        ("Payment services", "GB", "fca_psd", datetime(2026, 12, 18, 17, tzinfo=UTC)),
        ("Credit card", "CA", "cfpb", FRIDAY + timedelta(days=60)),
        ("Credit card", "AU", "asic", FRIDAY + timedelta(days=30)),
        ("Superannuation", "Australia", "asic_super", FRIDAY + timedelta(days=45)),
    ],
)
async def test_each_shipped_profile_is_chosen_by_its_rule_with_its_final_response_clock(
    desk: Desk, env: TestEnv, product: str, region: str, profile: str, final_due: datetime
) -> None:
    async with env.probe("case.policy_applied") as probe:
        case_id = await desk.receive(received_at=FRIDAY, region=region, product=product)
        applied = await probe.wait_for("case.policy_applied", case_id)
    assert applied.data["profile"] == profile
    assert at(clocks_of(applied.data)["final_response"]["due_at"]) == final_due


async def test_a_redelivered_complaint_applies_the_policy_once(desk: Desk, env: TestEnv) -> None:
    async with env.probe("case.policy_applied") as probe:
        case_id = await desk.receive(received_at=FRIDAY, region="UK")
        await probe.wait_for("case.policy_applied", case_id)
        await desk.receive(case_id, received_at=FRIDAY, region="UK")
        await desk.wait_entry(case_id, "policy_applied")
        await asyncio.sleep(1.0)
        assert len(probe.of_type("case.policy_applied", case_id)) == 1
    assert len(await desk.wait_entry(case_id, "policy_applied")) == 1


async def test_supervisors_and_admins_read_the_profiles_and_rules(desk: Desk) -> None:
    for role in ("supervisor", "admin"):
        response = await desk.client.get("/v1/admin/policy-profiles", headers=desk.as_(role))
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["default"] == "custom" and body["rules"][0]["profile"] == "fca_psd"
        assert "Financial Ombudsman" in body["profiles"]["fca"]["referral_rights"]
    refused = await desk.client.get("/v1/admin/policy-profiles", headers=desk.as_("owner"))
    assert refused.status_code == 403


def test_a_bad_profiles_file_stops_the_service_at_start(tmp_path: Path) -> None:
    bad = tmp_path / "policy_profiles.toml"
    bad.write_text('default = "nobody"\n[profiles]\n')
    with pytest.raises(PolicyError, match="policy profiles"):
        create_app(OwnershipSettings(policy_profiles_file=bad))


async def fire(desk: Desk, when: datetime) -> int:
    return await fire_due(desk.app.state.runtime, at=when)


async def test_fca_clocks_warn_and_breach_once_on_a_controlled_clock(
    desk: Desk, env: TestEnv
) -> None:
    async with env.probe("regulatory.#") as probe:
        case_id = await desk.receive(received_at=FRIDAY, region="UK", product="Mortgage")
        await desk.wait_case(case_id)
        summary_due = datetime(2026, 12, 2, 17, tzinfo=UTC)
        await fire(desk, FRIDAY + timedelta(hours=1))
        assert not probe.of_type("regulatory.warning", case_id)
        await fire(desk, summary_due)  # the summary resolution's warning and breach
        assert await fire(desk, summary_due) == 0
        breach = await probe.wait_for("regulatory.breached", case_id)
        assert breach.data["clock"] == "summary_resolution"
        assert at(breach.data["started_at"]) == FRIDAY and at(breach.data["due_at"]) == summary_due
        assert await fire(desk, FRIDAY + timedelta(weeks=9)) == 2  # the final response's
        await eventually(lambda: _count(probe, case_id), lambda n: n >= 5)
        keys = sorted(probe.routing_keys)
    assert keys == sorted(
        ["regulatory.stopped.fca"] + ["regulatory.warning.fca", "regulatory.breached.fca"] * 2
    )
    kinds = [e["kind"] for e in await desk.timeline(case_id)]
    assert kinds.count("regulatory_warning") == 2 and kinds.count("regulatory_breached") == 2
    shown = await desk.case(case_id)
    assert shown["policy_profile"] == "fca"
    clocks = {c["clock"]: c for c in shown["clocks"]}
    assert clocks["acknowledgement"]["stopped_by"] == "assigned"
    assert clocks["summary_resolution"]["breached"] and clocks["final_response"]["warned"]
    assert at(clocks["summary_resolution"]["due_at"]) == summary_due


async def _count(probe: Any, case_id: str) -> int:
    return len([e for e in probe.events if e.complaint_id == case_id])


async def test_a_cfpb_response_clock_stops_on_the_proposal_and_never_fires(
    desk: Desk, env: TestEnv
) -> None:
    async with env.probe("regulatory.#") as probe:
        case_id = await desk.receive(region="CA", received_at=datetime.now(UTC))
        case = await desk.wait_case(case_id)
        response = await desk.client.post(
            f"/v1/cases/{case_id}/resolution",
            json={"outcome": "resolved", "summary": "Refunded."},
            headers=desk.as_("owner", case["owner_id"]),
        )
        assert response.status_code == 200, response.text
        stopped = await probe.wait_for("regulatory.stopped", case_id)
        assert stopped.data["clock"] == "response" and probe.routing_keys == [
            "regulatory.stopped.cfpb"
        ]
        # Only the final response clock is left: its warning and breach.
        await fire(desk, datetime.now(UTC) + timedelta(days=61))
        await eventually(lambda: _count(probe, case_id), lambda n: n >= 3)
        fired = [e.data["clock"] for e in probe.events if e.type != "regulatory.stopped"]
    assert fired == ["final_response", "final_response"]
    [entry] = await desk.wait_entry(case_id, "regulatory_stopped")
    assert entry["detail"]["step"] == "resolution_proposed" and entry["detail"]["in_time"]


async def test_two_workers_fire_each_clock_timer_exactly_once(desk: Desk, env: TestEnv) -> None:
    ids = [await desk.receive(received_at=FRIDAY, region="AU") for _ in range(5)]
    for case_id in ids:
        await desk.wait_case(case_id)
    when = FRIDAY + timedelta(days=31)
    runtime = desk.app.state.runtime
    if env.backend == "postgresql":
        counts = await asyncio.gather(*(fire_due(runtime, at=when, limit=3) for _ in range(4)))
        counts += [await fire_due(runtime, at=when) for _ in range(2)]
    else:  # one writer at a time: the guarded update is what holds
        counts = [await fire_due(runtime, at=when, limit=3) for _ in range(8)]
    # Per case its SLA's warning and breach, and its final response clock's. The service's own
    # timer pass runs beside the workers and fires what is already due by the wall clock, so
    # the workers may fire fewer; each timer is still fired, and emitted, exactly once.
    assert sum(counts) <= 5 * 4
    async with desk.app.state.engine.connect() as conn:
        left = await conn.scalar(
            select(func.count()).select_from(timers).where(timers.c.fired_at.is_(None))
        )
        keys = list(await conn.scalars(select(outbox.c.routing_key)))
    assert left == 0
    fired = [k for k in keys if k.startswith(("sla.", "regulatory.warning", "regulatory.breach"))]
    assert len(fired) == 5 * 4, sorted(fired)
