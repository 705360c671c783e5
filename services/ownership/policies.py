"""Regulators' policy profiles: named clocks per profile, and rules that pick one per complaint.

The profiles file is validated as a whole at start, like the organisation file, so a bad file
stops the service with a clear error instead of leaving complaints without their clocks. Rules
are tried in order and the first whose conditions all hold wins; a complaint no rule matches
gets the default profile. Pure: no I/O beyond reading the file.
"""

import tomllib
from datetime import datetime, timedelta
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from services.ownership.calendar import (
    ALWAYS,
    Calendar,
    add_business_time,
    business_time_between,
    working_day_closes,
)
from services.ownership.domain import normalise_key
from services.ownership.organisation import CalendarConfig

Ident = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")]
Unit = Literal["business_days", "business_hours", "calendar_days", "calendar_hours"]
# The steps of a case that can stop a clock: assignment (ownership opens and assigns a case in
# one transaction, and confirmation acknowledges it to the customer on that event), a proposed
# resolution, the final response, and the customer's yes that closes the case.
Step = Literal["assigned", "resolution_proposed", "final_response", "closed"]


class PolicyError(ValueError):
    pass


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ClockConfig(_Strict):
    amount: float = Field(gt=0, le=3660)
    unit: Unit
    calendar: Ident | None = Field(None, description="Required for business units.")
    warning_fraction: float = Field(0.75, gt=0, lt=1)
    stops_on: list[Step] = Field(min_length=1)
    note: str | None = Field(None, max_length=1_000, description="E.g. an extension allowed.")


class ProfileConfig(_Strict):
    name: str = Field(min_length=1, max_length=200)
    referral_rights: str = Field(min_length=1, max_length=5_000)
    clocks: dict[Ident, ClockConfig] = Field(min_length=1)


class RuleConfig(_Strict):
    profile: Ident
    # Each condition lists shell-style patterns (`payment*`), compared without case or extra
    # spaces; an absent condition holds for every complaint.
    product: list[str] | None = None
    region: list[str] | None = None
    channel: list[str] | None = None
    customer_type: list[str] | None = None


class PolicyProfiles(_Strict):
    default: Ident
    calendars: dict[Ident, CalendarConfig] = Field(default_factory=dict)
    profiles: dict[Ident, ProfileConfig] = Field(min_length=1)
    rules: list[RuleConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> "PolicyProfiles":
        named = [self.default] + [r.profile for r in self.rules]
        unknown = sorted({p for p in named if p not in self.profiles})
        if unknown:
            raise ValueError(f"unknown profile(s): {', '.join(unknown)}")
        for profile_id, profile in self.profiles.items():
            for clock_id, clock in profile.clocks.items():
                where = f"profiles.{profile_id}.clocks.{clock_id}"
                if clock.unit.startswith("business") and clock.calendar is None:
                    raise ValueError(f"{where} counts business time but names no calendar")
                if clock.calendar is not None and clock.calendar not in self.calendars:
                    raise ValueError(f"{where} names unknown calendar {clock.calendar!r}")
                if clock.unit == "business_days" and clock.amount != int(clock.amount):
                    raise ValueError(f"{where} counts whole business days")
        return self

    def calendar(self, calendar_id: str | None) -> Calendar:
        return ALWAYS if calendar_id is None else self.calendars[calendar_id].calendar()


def _matches(patterns: list[str] | None, value: str | None) -> bool:
    if patterns is None:
        return True
    key = normalise_key(value)
    return bool(key) and any(fnmatchcase(key, normalise_key(p)) for p in patterns)


def select_profile(
    policies: PolicyProfiles,
    *,
    product: str | None = None,
    region: str | None = None,
    channel: str | None = None,
    customer_type: str | None = None,
) -> tuple[str, int | None]:
    """(profile, index of the rule that chose it; None: the default)."""
    for index, rule in enumerate(policies.rules):
        if (
            _matches(rule.product, product)
            and _matches(rule.region, region)
            and _matches(rule.channel, channel)
            and _matches(rule.customer_type, customer_type)
        ):
            return rule.profile, index
    return policies.default, None


def clock_times(clock: ClockConfig, start: datetime, cal: Calendar) -> tuple[datetime, datetime]:
    """(warning_at, due_at) of a clock started at `start`.

    Business days end at the close of the n-th working day after the day of receipt (FCA's
    "close of the third business day"); the warning falls after its fraction of the working
    time, as the SLA warnings do. Calendar units are plain elapsed time.
    """
    if clock.unit == "business_days":
        due = working_day_closes(start, int(clock.amount), cal)
    elif clock.unit == "business_hours":
        due = add_business_time(start, timedelta(hours=clock.amount), cal)
    elif clock.unit == "calendar_days":
        due = start + timedelta(days=clock.amount)
    else:
        due = start + timedelta(hours=clock.amount)
    if clock.unit.startswith("business"):
        working = business_time_between(start, due, cal)
        return add_business_time(start, working * clock.warning_fraction, cal), due
    return start + (due - start) * clock.warning_fraction, due


def parse_policies(text: str, source: str = "policy profiles file") -> PolicyProfiles:
    try:
        return PolicyProfiles.model_validate(tomllib.loads(text))
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{source} is not valid TOML: {exc}") from exc
    except ValidationError as exc:
        raise PolicyError(f"{source} is not a valid set of policy profiles: {exc}") from exc


def read_policies(path: Path) -> PolicyProfiles:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"cannot read the policy profiles file {path}: {exc}") from exc
    return parse_policies(text, str(path))
