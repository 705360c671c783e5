"""Regulators' clocks on the real broker and databases: the profile chosen as the case opens."""

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from services.ownership.app import create_app
from services.ownership.policies import PolicyError
from services.ownership.settings import OwnershipSettings
from tests import conftest
from tests.service.test_ownership import Desk, at
from tests.service.test_ownership import desk as desk  # the fixture

# Friday 27 November 2026, 15:00 UTC (London is on UTC): three business days end Wednesday 17:00.
FRIDAY = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)


def clocks_of(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["clock"]: c for c in data["clocks"]}


async def test_a_uk_complaint_runs_on_fca_clocks_and_its_acknowledgement_stops_on_assignment(
    desk: Desk, env: conftest.TestEnv
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
    desk: Desk, env: conftest.TestEnv, product: str, region: str, profile: str, final_due: datetime
) -> None:
    async with env.probe("case.policy_applied") as probe:
        case_id = await desk.receive(received_at=FRIDAY, region=region, product=product)
        applied = await probe.wait_for("case.policy_applied", case_id)
    assert applied.data["profile"] == profile
    assert at(clocks_of(applied.data)["final_response"]["due_at"]) == final_due


async def test_a_redelivered_complaint_applies_the_policy_once(
    desk: Desk, env: conftest.TestEnv
) -> None:
    async with env.probe("case.policy_applied") as probe:
        case_id = await desk.receive(received_at=FRIDAY, region="UK")
        await probe.wait_for("case.policy_applied", case_id)
        await desk.receive(case_id, received_at=FRIDAY, region="UK")
        await desk.wait_entry(case_id, "policy_applied")
        import asyncio

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
