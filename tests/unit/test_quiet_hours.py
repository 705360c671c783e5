"""Quiet hours in the customer's zone, read from the number."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.confirmation.quiet_hours import QuietHours, send_after, zones_of

RULES = QuietHours(21, 8)
SAN_FRANCISCO = "+14155552671"
NEW_YORK = "+12125551234"
SHANGHAI = "+8613800138000"
AUSTRALIA = "+61412345678"


def local(zone: str, year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def test_a_number_is_in_its_own_zone() -> None:
    assert [z.key for z in zones_of(SAN_FRANCISCO)] == ["America/Los_Angeles"]
    assert [z.key for z in zones_of(SHANGHAI)] == ["Asia/Shanghai"]
    assert [z.key for z in zones_of("not a number", "Europe/London")] == ["Europe/London"]


@pytest.mark.parametrize(
    ("number", "zone", "at", "expected"),
    [
        # 03:00 in San Francisco: the text waits till 08:00 there.
        (SAN_FRANCISCO, "America/Los_Angeles", (2026, 12, 4, 3, 0), (2026, 12, 4, 8, 0)),
        # 21:10: it waits over midnight.
        (SAN_FRANCISCO, "America/Los_Angeles", (2026, 12, 4, 21, 10), (2026, 12, 5, 8, 0)),
        (SHANGHAI, "Asia/Shanghai", (2026, 12, 4, 23, 59), (2026, 12, 5, 8, 0)),
        # The change to summer time: the quiet still ends at 08:00 local.
        (NEW_YORK, "America/New_York", (2026, 3, 8, 1, 30), (2026, 3, 8, 8, 0)),
    ],
)
def test_a_text_at_night_waits_for_the_local_morning(
    number: str, zone: str, at: tuple[int, ...], expected: tuple[int, ...]
) -> None:
    assert send_after(RULES, number, local(zone, *at)) == local(zone, *expected)


@pytest.mark.parametrize(
    ("number", "zone", "at"),
    [
        (SAN_FRANCISCO, "America/Los_Angeles", (2026, 12, 4, 8, 0)),
        (SAN_FRANCISCO, "America/Los_Angeles", (2026, 12, 4, 20, 59)),
        (SHANGHAI, "Asia/Shanghai", (2026, 12, 4, 12, 0)),
    ],
)
def test_a_text_in_the_day_goes_at_once(number: str, zone: str, at: tuple[int, ...]) -> None:
    assert send_after(RULES, number, local(zone, *at)) is None


def test_a_number_of_several_zones_waits_till_it_is_day_in_all() -> None:
    # 07:30 in Sydney is 04:30 in Perth and earlier still on the Cocos Islands (+61 too): it
    # goes when the last of them wakes, not a quarter hour later.
    at = local("Australia/Sydney", 2026, 12, 4, 7, 30)
    moment = send_after(RULES, AUSTRALIA, at)
    assert moment is not None
    for zone in zones_of(AUSTRALIA):
        assert not RULES.quiet_at(moment.astimezone(zone)), zone
    before = moment - timedelta(minutes=15)
    assert any(RULES.quiet_at(before.astimezone(zone)) for zone in zones_of(AUSTRALIA))
    assert moment.astimezone(ZoneInfo("Australia/Perth")).hour >= 8


def test_quiet_hours_within_a_day_and_none() -> None:
    assert QuietHours(1, 5).quiet_at(datetime(2026, 1, 1, 3, 0))
    assert not QuietHours(1, 5).quiet_at(datetime(2026, 1, 1, 6, 0))
    assert not QuietHours(8, 8).quiet_at(datetime(2026, 1, 1, 3, 0))


@pytest.mark.parametrize(
    "values",
    [
        {"quiet_hours_kinds": "reminder,acknowledgement"},
        {"quiet_hours_default_zone": "Mars/Olympus_Mons"},
        {"quiet_hours_start": 24},
    ],
)
def test_bad_quiet_hours_stop_the_service_at_start(values: dict[str, object]) -> None:
    from pydantic import ValidationError

    from services.confirmation.settings import ConfirmationSettings

    with pytest.raises(ValidationError):
        ConfirmationSettings(**values)  # type: ignore[arg-type]


def test_the_held_kinds_are_read_from_the_settings() -> None:
    from services.confirmation.settings import ConfirmationSettings

    rules = ConfirmationSettings(quiet_hours_kinds=" reminder , request").quiet_hours
    assert rules is not None and rules.kinds == {"reminder", "request"}
    assert ConfirmationSettings(quiet_hours_enabled=False).quiet_hours is None
