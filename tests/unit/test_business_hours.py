"""Business-hours arithmetic across nights, weekends, holidays, time zones and clock changes."""

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.ownership.calendar import (
    ALWAYS,
    Calendar,
    CalendarError,
    add_business_hours,
    add_business_time,
    business_time_between,
    is_working,
    parse_window,
)
from services.ownership.organisation import OrganisationError, parse_organisation

NINE_TO_FIVE = {d: (9 * 60, 17 * 60) for d in range(5)}
LONDON = Calendar("Europe/London", NINE_TO_FIVE, frozenset({date(2026, 12, 25)}))
NEW_YORK = Calendar("America/New_York", NINE_TO_FIVE)
SPLIT_WEEK = Calendar(
    "Asia/Tokyo", {0: (8 * 60, 12 * 60), 2: (13 * 60, 1440), 5: (0, 90)}, frozenset()
)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_hours_within_one_working_day() -> None:
    # Tuesday 24 Nov 2026, 10:00 London (UTC+0 in winter).
    assert add_business_hours(utc(2026, 11, 24, 10), 3, LONDON) == utc(2026, 11, 24, 13)


def test_what_is_left_at_closing_time_continues_the_next_morning() -> None:
    assert add_business_hours(utc(2026, 11, 24, 15), 4, LONDON) == utc(2026, 11, 25, 11)


def test_friday_evening_runs_into_monday() -> None:
    friday_16 = utc(2026, 11, 27, 16)
    assert add_business_hours(friday_16, 2, LONDON) == utc(2026, 11, 30, 10)


def test_a_start_outside_hours_counts_from_the_next_opening() -> None:
    saturday = utc(2026, 11, 28, 12)
    assert add_business_hours(saturday, 1, LONDON) == utc(2026, 11, 30, 10)
    assert add_business_hours(utc(2026, 11, 24, 6), 1, LONDON) == utc(2026, 11, 24, 10)


def test_holidays_are_skipped() -> None:
    # Thursday 24 Dec 16:00 + 2h: Friday 25th is Christmas Day, so the second hour is Monday's.
    assert add_business_hours(utc(2026, 12, 24, 16), 2, LONDON) == utc(2026, 12, 28, 10)


def test_the_calendar_time_zone_decides_the_hours() -> None:
    # 09:00 in New York is 14:00 UTC in winter; 8 working hours end at 22:00 UTC.
    assert add_business_hours(utc(2026, 11, 24, 12), 8, NEW_YORK) == utc(2026, 11, 24, 22)


def test_a_working_day_across_a_clock_change_still_has_its_hours() -> None:
    # Clocks go forward in London on Sunday 29 March 2026: Monday 09:00 BST is 08:00 UTC.
    assert add_business_hours(utc(2026, 3, 27, 16), 2, LONDON) == utc(2026, 3, 30, 9)
    # And back on Sunday 25 October: Friday 15:00 UTC is 16:00 BST, one hour before closing;
    # the other two run from Monday 09:00 GMT, which is 09:00 UTC.
    assert add_business_hours(utc(2026, 10, 23, 15), 3, LONDON) == utc(2026, 10, 26, 11)


def test_round_the_clock_is_plain_addition() -> None:
    start = utc(2026, 11, 28, 23, 30)
    assert add_business_hours(start, 0.5, ALWAYS) == start + timedelta(minutes=30)


def test_bad_calendars_and_windows_are_refused() -> None:
    with pytest.raises(CalendarError):
        parse_window("17:00-09:00")
    with pytest.raises(CalendarError):
        parse_window("9-5")
    with pytest.raises(CalendarError):
        Calendar("UTC", {})
    with pytest.raises(CalendarError):
        add_business_hours(datetime(2026, 1, 1), 1, LONDON)


def test_the_organisation_file_refuses_unknown_zones_and_calendars() -> None:
    base = """
[case_targets]
hours = { P1 = 1, P2 = 2, P3 = 3, P4 = 4 }
calendar = "office"
[teams.general]
name = "General"
lead = "paula"
default = true
"""
    ok = base + '[calendars.office]\ntimezone = "Europe/Paris"\nhours = { mon = "09:00-17:00" }\n'
    assert parse_organisation(ok).calendars["office"].calendar().timezone == "Europe/Paris"
    with pytest.raises(OrganisationError, match="unknown calendar"):
        parse_organisation(base)
    with pytest.raises(OrganisationError, match="time zone"):
        parse_organisation(ok.replace("Europe/Paris", "Mars/Olympus"))


instants = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
)
minutes = st.integers(min_value=0, max_value=60 * 24 * 20).map(lambda m: timedelta(minutes=m))
calendars = st.sampled_from([LONDON, NEW_YORK, SPLIT_WEEK, ALWAYS])


@settings(max_examples=150, deadline=None)
@given(instants, minutes, minutes, calendars)
def test_adding_in_two_steps_is_adding_the_sum(
    start: datetime, a: timedelta, b: timedelta, cal: Calendar
) -> None:
    once = add_business_time(start, a + b, cal)
    assert add_business_time(add_business_time(start, a, cal), b, cal) == once


@settings(max_examples=150, deadline=None)
@given(instants, minutes, minutes, calendars)
def test_more_hours_never_end_earlier(
    start: datetime, a: timedelta, b: timedelta, cal: Calendar
) -> None:
    assert add_business_time(start, a, cal) <= add_business_time(start, a + b, cal)


@settings(max_examples=150, deadline=None)
@given(instants, minutes, calendars)
def test_the_result_is_inside_working_time_and_not_before_the_start(
    start: datetime, amount: timedelta, cal: Calendar
) -> None:
    end = add_business_time(start, amount, cal)
    assert end >= start and is_working(end, cal)


@settings(max_examples=150, deadline=None)
@given(instants, minutes, calendars)
def test_working_time_between_start_and_result_is_the_amount(
    start: datetime, amount: timedelta, cal: Calendar
) -> None:
    assert business_time_between(start, add_business_time(start, amount, cal), cal) == amount
