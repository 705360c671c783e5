"""Escalation against the real broker and a real database (SQLite and PostgreSQL)."""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.escalation.app import create_app
from services.escalation.domain import InvalidRules
from services.escalation.settings import REPO_ROOT, EscalationSettings
from shared.events import ComplaintReceived, Envelope, Facts, new_event
from tests.support.env import Database, TestEnv
from tests.support.escalation import publisher, started
from tests.support.services import app_of, auth


def received(complaint_id: str | None = None, **overrides: Any) -> Envelope:
    data: dict[str, Any] = {
        "reference": "CMP-" + uuid.uuid4().hex[:8].upper(),
        "customer_key": "k" * 64,
        "channel": "email",
        "contact": "ana@example.com",
        "category": "appliances",
        "product": "Kettle K2",
        "region": "CA",
        "description": "The kettle stopped working after a week.",
        "facts": Facts(what="kettle", where="kitchen", when="2026-11-20"),
        "received_at": datetime.now(UTC),
    }
    data.update(overrides)
    return new_event(
        "complaint.received",
        ComplaintReceived(**data),
        producer="intake",
        complaint_id=complaint_id or str(uuid.uuid4()),
    )


@pytest.fixture
async def escalation(env: TestEnv, database: Database) -> AsyncIterator[httpx.AsyncClient]:
    async with database("escalation") as url, started(env, url) as client:
        yield client


async def test_received_complaint_is_prioritized_with_reasons(
    escalation: httpx.AsyncClient, env: TestEnv
) -> None:
    event = received(description="The kettle caught fire and burned my hand.")
    async with env.probe("complaint.prioritized") as probe, publisher(env) as bus:
        await bus.publish(event)
        prioritized = await probe.wait_for("complaint.prioritized", event.complaint_id)
    assert prioritized.data["priority"] == "P1"
    assert prioritized.data["reasons"] == [
        'safety risk: "caught fire" in description (rule safety, at least P1)'
    ]
    assert prioritized.producer == "escalation"
    assert prioritized.causation_id == event.event_id
    assert prioritized.correlation_id == event.correlation_id
    response = await escalation.get(f"/v1/priorities/{event.complaint_id}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["complaint_id"] == event.complaint_id
    assert (body["priority"], body["reasons"]) == ("P1", prioritized.data["reasons"])
    assert datetime.fromisoformat(body["appraised_at"]).tzinfo is not None


async def test_chinese_and_plain_complaints_are_appraised(
    escalation: httpx.AsyncClient, env: TestEnv
) -> None:
    chinese = received(description="我的信用卡被盗刷了，明天就要还款", category="信用卡")  # noqa: RUF001
    plain = received()
    async with env.probe("complaint.prioritized") as probe, publisher(env) as bus:
        await bus.publish(chinese, plain)
        zh = await probe.wait_for("complaint.prioritized", chinese.complaint_id)
        en = await probe.wait_for("complaint.prioritized", plain.complaint_id)
    assert zh.data == {
        "priority": "P1",
        "reasons": [
            'money at stake: "盗刷" in description (rule money, at least P2)',
            'urgent deadline: "明天" in description (rule deadline, one level up)',
        ],
        "overridden_by": None,
    }
    assert en.data == {
        "priority": "P3",
        "reasons": ["no aggravating factor"],
        "overridden_by": None,
    }


async def test_a_complaint_is_appraised_once_however_often_it_arrives(
    escalation: httpx.AsyncClient, env: TestEnv
) -> None:
    first = received()
    announced_again = received(first.complaint_id, description="Now it caught fire!")
    sentinel = received()
    async with env.probe("complaint.prioritized") as probe, publisher(env) as bus:
        for event in (first, first, announced_again, sentinel):
            await bus.publish(event)
        await probe.wait_for("complaint.prioritized", sentinel.complaint_id)
    assert len(probe.of_type("complaint.prioritized", first.complaint_id)) == 1
    body = (await escalation.get(f"/v1/priorities/{first.complaint_id}")).json()
    assert body["priority"] == "P3"


async def test_unknown_complaint_has_no_priority(escalation: httpx.AsyncClient) -> None:
    response = await escalation.get(f"/v1/priorities/{uuid.uuid4()}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "priority_not_found"


async def test_priorities_are_read_by_case_roles_only(escalation: httpx.AsyncClient) -> None:
    settings = app_of(escalation).state.settings
    path = f"/v1/priorities/{uuid.uuid4()}"
    for role in ("owner", "supervisor", "admin", "frontend"):
        assert (await escalation.get(path, headers=auth(settings, role))).status_code == 404
    for role in ("analyst", "department"):
        refused = await escalation.get(path, headers=auth(settings, role))
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    assert (await escalation.get(path, headers={"Authorization": ""})).status_code == 401


VIP_RULES = """
default = "P4"
default_reason = "routine"

[[rule]]
name = "vip"
dimension = "seriousness"
reason = "platinum customer"
floor = "P2"
keywords = ["platinum"]
"""


async def test_rules_come_from_the_configured_file(
    env: TestEnv, database: Database, tmp_path: Path
) -> None:
    rules_file = tmp_path / "rules.toml"
    rules_file.write_text(VIP_RULES, encoding="utf-8")
    vip, fire = received(category="Platinum card"), received(description="It caught fire")
    async with (
        database("escalation") as url,
        started(env, url, priority_rules_file=rules_file),
        env.probe("complaint.prioritized") as probe,
        publisher(env) as bus,
    ):
        await bus.publish(vip, fire)
        got_vip = await probe.wait_for("complaint.prioritized", vip.complaint_id)
        got_fire = await probe.wait_for("complaint.prioritized", fire.complaint_id)
    assert got_vip.data["priority"] == "P2"
    assert got_vip.data["reasons"] == [
        'platinum customer: "Platinum" in category (rule vip, at least P2)'
    ]
    assert got_fire.data == {"priority": "P4", "reasons": ["routine"], "overridden_by": None}


def test_rules_file_setting_is_read_from_the_environment_and_repo_root(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("PRIORITY_RULES_FILE", "ESCALATION_PRIORITY_RULES_FILE"):
        monkeypatch.delenv(name, raising=False)
    assert EscalationSettings().rules_path == REPO_ROOT / "config" / "priority_rules.toml"
    monkeypatch.setenv("PRIORITY_RULES_FILE", "/etc/complaints/rules.toml")
    assert EscalationSettings().rules_path == Path("/etc/complaints/rules.toml")
    monkeypatch.setenv("PRIORITY_RULES_FILE", "config/other.toml")
    assert EscalationSettings().rules_path == REPO_ROOT / "config" / "other.toml"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read priority rules"),
        ("default = ", "not valid TOML"),
        ('default = "P3"\n[[rule]]\nname = "x"\n', "dimension must be a non-empty string"),
    ],
)
def test_a_missing_or_invalid_rules_file_stops_start_up(
    tmp_path: Path, content: str | None, message: str
) -> None:
    rules_file = tmp_path / "rules.toml"
    if content is not None:
        rules_file.write_text(content, encoding="utf-8")
    with pytest.raises(InvalidRules, match=message):
        create_app(EscalationSettings(priority_rules_file=rules_file))
