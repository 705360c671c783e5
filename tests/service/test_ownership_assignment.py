"""Assignment, hand-over when an owner goes away, and the audited administration."""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from services.ownership.app import create_app
from services.ownership.settings import OwnershipSettings
from tests.support.env import Database, TestEnv
from tests.support.ownership import Desk
from tests.support.services import common_settings, running

ORGANISATION = """
[case_targets]
hours = { P1 = 4, P2 = 24, P3 = 72, P4 = 120 }

[teams.billing]
name = "Billing"
lead = "maria"
default = true
categories = ["billing", "fees"]
owners = [
{ id = "alice", name = "Alice", skills = ["billing"], languages = ["en"], capacity = 5 },
{ id = "bob", name = "Bob", skills = ["billing", "fees"], languages = ["en", "fr"], capacity = 5 },
{ id = "carol", name = "Carol", skills = ["fees"], languages = ["de"], capacity = 5 },
]

[departments.finance]
name = "Finance"
tasks = { refund = 24 }
"""


@pytest.fixture
async def desk(env: TestEnv, database: Database) -> AsyncIterator[Desk]:
    organisation = env.tmp / "organisation.toml"
    organisation.write_text(ORGANISATION)
    async with database("ownership") as url:
        settings = OwnershipSettings(**common_settings(env, url, organisation_file=organisation))
        bus = env.publisher()
        await bus.connect()
        try:
            async with running(create_app(settings)) as client:
                yield Desk(client, settings, bus)
        finally:
            await bus.close()


def customer() -> str:
    return uuid.uuid4().hex * 2


async def owner_of(desk: Desk, **complaint: Any) -> str:
    case = await desk.wait_case(await desk.receive(**complaint))
    return str(case["owner_id"])


async def test_skills_and_language_decide_the_owner_and_nobody_fitting_goes_to_the_lead(
    desk: Desk,
) -> None:
    assert await owner_of(desk, category="fees", language="fr", customer_key=customer()) == "bob"
    assert await owner_of(desk, category="fees", language="de", customer_key=customer()) == "carol"
    lead = await owner_of(desk, category="billing", language="de", customer_key=customer())
    assert lead == "maria"


async def test_a_returning_customer_gets_the_same_owner(desk: Desk) -> None:
    key = customer()
    first = await owner_of(desk, category="billing", language="en", customer_key=key)
    for _ in range(2):
        assert await owner_of(desk, category="billing", language="en", customer_key=key) == first
    case_id = await desk.receive(category="billing", language="en", customer_key=key)
    await desk.wait_case(case_id)
    entries = await desk.wait_entry(case_id, "assigned")
    assert entries[0]["detail"]["rule"] == "same_owner_as_before"


async def test_marking_an_owner_away_hands_over_their_open_cases(desk: Desk, env: TestEnv) -> None:
    cases = [
        await desk.receive(category="billing", language="en", customer_key=customer())
        for _ in range(2)
    ]
    owners = {(await desk.wait_case(c))["owner_id"] for c in cases}
    assert owners <= {"alice", "bob"}
    async with env.probe("case.reassigned") as probe:
        for owner in sorted(owners):
            response = await desk.client.put(
                f"/v1/owners/{owner}/availability",
                json={"away": True, "reason": "sick leave"},
                headers=desk.as_("supervisor", "sam"),
            )
            assert response.status_code == 200, response.text
        for case_id in cases:
            event = await probe.wait_for("case.reassigned", case_id)
            assert event.data["reason"] == "owner away: sick leave"
            assert event.data["from_owner_id"] in owners
    for case_id in cases:
        # Alice's case may pass to Bob first; once Bob is away too, only the lead fits.
        assert (await desk.wait_case(case_id, lambda c: c["owner_id"] == "maria"))["owner_id"]
        handed = (await desk.wait_entry(case_id, "reassigned"))[-1]
        assert handed["actor"] == "supervisor:sam" and "sick leave" in handed["detail"]["reason"]
    refused = await desk.client.post(
        f"/v1/cases/{cases[0]}/reassign",
        json={"to_owner_id": "alice", "reason": "she knows the customer"},
        headers=desk.as_("supervisor"),
    )
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "owner_away"
    # Away owners take no new cases; with both English speakers away the lead takes it.
    assert await owner_of(desk, category="billing", language="en", customer_key=customer()) == (
        "maria"
    )


async def test_administration_changes_the_organisation_and_is_audited(desk: Desk) -> None:
    admin = desk.as_("admin", "root")
    calendar = {"timezone": "Europe/Berlin", "hours": {"mon": "08:00-16:00"}, "holidays": []}
    assert (await desk.client.put("/v1/calendars/berlin", json=calendar, headers=admin)).is_success
    department = {"name": "Finanz", "tasks": {"refund": 8}, "calendar": "berlin"}
    response = await desk.client.put("/v1/departments/finance", json=department, headers=admin)
    assert response.status_code == 200, response.text
    owner = {"name": "Dora", "team": "billing", "skills": ["billing"], "languages": ["de"]}
    assert (await desk.client.put("/v1/owners/dora", json=owner, headers=admin)).is_success
    assert (
        await owner_of(desk, category="billing", language="de", customer_key=customer()) == "dora"
    )

    audit = (await desk.client.get("/v1/organisation/audit", headers=admin)).json()["items"]
    assert [(a["entity"], a["entity_id"], a["actor"]) for a in audit] == [
        ("owner", "dora", "admin:root"),
        ("department", "finance", "admin:root"),
        ("calendar", "berlin", "admin:root"),
    ]
    finance = audit[1]
    assert finance["before"]["tasks"] == {"refund": 24.0} and finance["after"]["tasks"] == {
        "refund": 8
    }
    assert audit[0]["before"] is None


async def test_administration_refuses_bad_input_and_other_roles(desk: Desk) -> None:
    admin = desk.as_("admin", "root")
    bad = [
        ("/v1/calendars/x", {"timezone": "Nowhere/Else", "hours": {"mon": "09:00-17:00"}}),
        ("/v1/calendars/x", {"timezone": "UTC", "hours": {"mon": "17:00-09:00"}}),
        ("/v1/departments/finance", {"name": "F", "tasks": {"refund": 8}, "calendar": "nope"}),
        ("/v1/owners/zed", {"name": "Zed", "team": "nope"}),
        ("/v1/sla-policy", {"hours": {"P1": 1}, "warning_fraction": 0.5}),
    ]
    for url, body in bad:
        response = await desk.client.put(url, json=body, headers=admin)
        assert response.status_code == 422, (url, response.text)
        assert response.json()["error"]["code"]
    supervisor = desk.as_("supervisor")
    owner = {"name": "Zed", "team": "billing"}
    assert (
        await desk.client.put("/v1/owners/zed", json=owner, headers=supervisor)
    ).status_code == 403
    audit = (await desk.client.get("/v1/organisation/audit", headers=admin)).json()["items"]
    assert audit == []


async def test_owners_off_shift_get_cases_only_when_nobody_on_shift_fits(desk: Desk) -> None:
    admin = desk.as_("admin", "root")
    tomorrow = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[
        (datetime.now(UTC).weekday() + 1) % 7
    ]
    calendar = {"timezone": "UTC", "hours": {tomorrow: "00:00-24:00"}}
    assert (await desk.client.put("/v1/calendars/off_now", json=calendar, headers=admin)).is_success
    night = {"name": "Dora", "team": "billing", "languages": ["sv"], "calendar": "off_now"}
    day = {"name": "Emil", "team": "billing", "languages": ["sv"], "capacity": 1}
    for owner_id, body in (("dora", night), ("emil", day)):
        response = await desk.client.put(f"/v1/owners/{owner_id}", json=body, headers=admin)
        assert response.status_code == 200, response.text
    assert (
        await owner_of(desk, category="billing", language="sv", customer_key=customer()) == "emil"
    )
    assert (
        await owner_of(desk, category="billing", language="sv", customer_key=customer()) == "dora"
    )
