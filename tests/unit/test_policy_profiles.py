"""Policy profiles: the shipped file is valid, bad files are refused, rules pick in order."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from services.ownership.policies import (
    PolicyError,
    clock_times,
    parse_policies,
    read_policies,
    select_profile,
)

SHIPPED = Path(__file__).resolve().parents[2] / "config" / "policy_profiles.toml"
MINIMAL = """
default = "house"
[profiles.house]
name = "House"
referral_rights = "Ask for a review."
[profiles.house.clocks.final_response]
amount = 10
unit = "calendar_days"
stops_on = ["final_response"]
"""


def test_the_shipped_profiles_are_valid_and_name_their_referral_bodies() -> None:
    policies = read_policies(SHIPPED)
    assert {"fca", "fca_psd", "cfpb", "asic", "asic_super", "custom"} <= set(policies.profiles)
    assert "Financial Ombudsman Service" in policies.profiles["fca"].referral_rights
    assert "consumerfinance.gov" in policies.profiles["cfpb"].referral_rights
    assert "AFCA" in policies.profiles["asic"].referral_rights


@pytest.mark.parametrize(
    ("product", "region", "expected"),
    [
        ("Payment services", "UK", "fca_psd"),
        ("Mortgage", "uk", "fca"),
        ("Superannuation fund", "AU", "asic_super"),
        ("Credit card", "Australia", "asic"),
        ("Credit card", "CA", "cfpb"),
        ("Credit card", None, "custom"),
    ],
)
def test_the_first_matching_rule_wins_else_the_default(
    product: str, region: str | None, expected: str
) -> None:
    assert select_profile(read_policies(SHIPPED), product=product, region=region)[0] == expected


def test_channel_and_customer_type_conditions_must_all_hold() -> None:
    text = MINIMAL + '[[rules]]\nprofile = "house"\nchannel = ["email"]\ncustomer_type = ["sme"]\n'
    policies = parse_policies(text)
    assert select_profile(policies, channel="email", customer_type="SME") == ("house", 0)
    assert select_profile(policies, channel="email") == ("house", None)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ('default = "nobody"', "unknown profile"),
        ('unit = "business_days"', "names no calendar"),
        ('unit = "fortnights"', "unit"),
        ('stops_on = ["never"]', "stops_on"),
        ("amount = -1", "amount"),
        ('referral_rights = ""', "referral_rights"),
    ],
)
def test_a_bad_file_is_refused_with_the_reason(change: str, reason: str) -> None:
    key = change.split(" = ")[0]
    lines = [change if line.startswith(key + " =") else line for line in MINIMAL.splitlines()]
    with pytest.raises(PolicyError, match=reason):
        parse_policies("\n".join(lines))


def test_not_toml_is_refused() -> None:
    with pytest.raises(PolicyError, match="not valid TOML"):
        parse_policies("default = ")


def test_fca_summary_resolution_ends_at_the_close_of_the_third_business_day() -> None:
    policies = read_policies(SHIPPED)
    clock = policies.profiles["fca"].clocks["summary_resolution"]
    friday = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)  # London is on UTC in November
    warning, due = clock_times(clock, friday, policies.calendar(clock.calendar))
    assert due == datetime(2026, 12, 2, 17, 0, tzinfo=UTC)  # Mon, Tue, Wed: close of Wednesday
    assert friday < warning < due


def test_calendar_clocks_count_elapsed_days() -> None:
    policies = read_policies(SHIPPED)
    clock = policies.profiles["asic"].clocks["final_response"]
    start = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)
    warning, due = clock_times(clock, start, policies.calendar(clock.calendar))
    assert due == start + timedelta(days=30)
    assert warning == start + timedelta(days=22.5)


def test_payment_services_final_response_skips_the_christmas_bank_holidays() -> None:
    policies = read_policies(SHIPPED)
    clock = policies.profiles["fca_psd"].clocks["final_response"]
    start = datetime(2026, 12, 14, 10, 0, tzinfo=UTC)
    _, due = clock_times(clock, start, policies.calendar(clock.calendar))
    # 15 business days after Mon 14 Dec, without 25 and 28 Dec nor 1 Jan: Thu 7 Jan 2027.
    assert due == datetime(2027, 1, 7, 17, 0, tzinfo=UTC)
