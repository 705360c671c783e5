"""The organisation file: the demo one is valid, and inconsistent ones are refused whole."""

from pathlib import Path

import pytest

from services.ownership.organisation import OrganisationError, parse_organisation, read_organisation
from services.ownership.settings import REPO_ROOT, OwnershipSettings

TARGETS = """
[case_targets]
hours = { P1 = 4, P2 = 24, P3 = 72, P4 = 120 }
warning_fraction = 0.75
"""

TWO_TEAMS = (
    TARGETS
    + """
[teams.billing]
name = "Billing"
lead = "maria"
categories = ["billing", "Credit card"]
owners = [{ id = "alice", name = "Alice" }]

[teams.general]
name = "General"
lead = "paula"
default = true
owners = [{ id = "ivan", name = "Ivan" }]

[departments.finance]
name = "Finance"
tasks = { refund = 24 }
"""
)


def test_demo_organisation_is_valid_and_covers_the_expected_shape() -> None:
    org = read_organisation(REPO_ROOT / "config" / "organisation.toml")
    assert set(org.teams) == {"billing", "delivery", "product", "general"}
    assert org.default_team == "general"
    assert all(2 <= len(team.owners) <= 3 for team in org.teams.values())
    assert set(org.departments) == {"finance", "logistics", "technical", "legal"}
    assert org.departments["finance"].tasks["refund"] == 24
    assert org.departments["logistics"].tasks["redelivery"] == 48
    assert org.departments["technical"].tasks["investigation"] == 72
    assert org.departments["legal"].tasks["review"] == 120
    assert org.case_targets.hours == {"P1": 4, "P2": 16, "P3": 40, "P4": 80}
    assert org.case_targets.warning_fraction == 0.75
    assert org.case_targets.calendar == "care_desk"
    assert org.calendars["back_office"].calendar().timezone == "America/New_York"
    assert {d.calendar for d in org.departments.values()} == {"back_office", "operations"}
    categories = org.category_map()
    assert categories["debt collection"] == "billing"
    assert categories["mortgage"] == "product"


def test_default_organisation_file_is_found_from_any_working_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ORGANISATION_FILE", raising=False)
    monkeypatch.delenv("OWNERSHIP_ORGANISATION_FILE", raising=False)
    assert OwnershipSettings().organisation_path == REPO_ROOT / "config" / "organisation.toml"
    monkeypatch.setenv("ORGANISATION_FILE", str(tmp_path / "org.toml"))
    assert OwnershipSettings().organisation_path == tmp_path / "org.toml"


def test_categories_map_case_insensitively_to_teams() -> None:
    org = parse_organisation(TWO_TEAMS)
    assert org.category_map() == {"billing": "billing", "credit card": "billing"}
    assert org.default_team == "general"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("default = true", "default = false"), "exactly one team must be default"),
        (('lead = "maria"', 'lead = "maria"\ndefault = true'), "exactly one team must be default"),
        (('owners = [{ id = "ivan"', 'owners = [{ id = "alice"'), "owner alice is in"),
        (('lead = "paula"', 'lead = "maria"'), "maria leads both"),
        (('lead = "paula"', 'lead = "alice"'), "alice leads general but is an owner"),
        ((", P4 = 120", ""), "lacks P4"),
        (("P4 = 120", "P4 = -1"), "greater than 0"),
        (("warning_fraction = 0.75", "warning_fraction = 1.5"), "warning_fraction"),
        (("refund = 24", ""), "tasks"),
        (('name = "Billing"', 'name = "Billing"\ncolour = "red"'), "colour"),
        (('id = "alice"', 'id = "Alice Smith"'), "pattern"),
        (("[teams.general]", "[teams.general"), "not valid TOML"),
    ],
)
def test_inconsistent_organisation_is_refused(change: tuple[str, str], message: str) -> None:
    text = TWO_TEAMS.replace(*change, 1)
    assert text != TWO_TEAMS
    with pytest.raises(OrganisationError) as refused:
        parse_organisation(text)
    assert message in str(refused.value)


def test_a_category_claimed_by_two_teams_is_refused() -> None:
    text = TWO_TEAMS.replace("default = true", 'default = true\ncategories = ["BILLING"]')
    with pytest.raises(OrganisationError, match="category 'BILLING' belongs to billing"):
        parse_organisation(text)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(OrganisationError, match="cannot read the organisation file"):
        read_organisation(tmp_path / "absent.toml")
