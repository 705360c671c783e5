"""The organisation file: teams and their owners, departments with their task SLAs, case targets.

It is validated as a whole before anything is written, so a bad file stops the service at start
instead of leaving half an organisation in the database.
"""

import tomllib
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from services.ownership.calendar import WEEKDAYS, Calendar, CalendarError, parse_window
from services.ownership.domain import PRIORITIES, normalise_key
from shared.events import Priority

Ident = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")]
Hours = Annotated[float, Field(gt=0, le=24 * 365)]


class OrganisationError(ValueError):
    pass


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OwnerConfig(_Strict):
    id: Ident
    name: str = Field(min_length=1, max_length=200)
    capacity: int | None = Field(None, gt=0, description="Open cases above which others go first.")
    skills: list[str] = Field(default_factory=list, description="Categories; empty: any.")
    languages: list[str] = Field(default_factory=list, description="Empty: any language.")
    away: bool = False
    calendar: Ident | None = Field(None, description="Working hours; none: always on shift.")


class TeamConfig(_Strict):
    name: str = Field(min_length=1, max_length=200)
    lead: Ident
    lead_name: str | None = Field(None, max_length=200)
    default: bool = False
    categories: list[str] = Field(default_factory=list)
    owners: list[OwnerConfig] = Field(default_factory=list)


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class CalendarConfig(_Strict):
    timezone: str = "UTC"
    hours: dict[Weekday, str] = Field(min_length=1, description="'09:00-17:00' per weekday.")
    holidays: list[date] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("hours")
    @classmethod
    def _windows(cls, value: dict[str, str]) -> dict[str, str]:
        try:
            for window in value.values():
                parse_window(window)
        except CalendarError as exc:
            raise ValueError(str(exc)) from exc
        return value

    def calendar(self) -> Calendar:
        return build_calendar(
            self.timezone, {str(d): w for d, w in self.hours.items()}, self.holidays
        )


def build_calendar(timezone: str, hours: Mapping[str, str], holidays: list[date]) -> Calendar:
    windows = {WEEKDAYS.index(day): parse_window(text) for day, text in hours.items()}
    return Calendar(timezone, windows, frozenset(holidays))


class DepartmentConfig(_Strict):
    name: str = Field(min_length=1, max_length=200)
    tasks: dict[Ident, Hours] = Field(min_length=1)
    calendar: Ident | None = Field(None, description="Business hours; none: round the clock.")


class CaseTargets(_Strict):
    hours: dict[Priority, Hours]
    warning_fraction: float = Field(0.75, gt=0, lt=1)
    default_priority: Priority = "P3"
    calendar: Ident | None = Field(None, description="Business hours; none: round the clock.")

    @model_validator(mode="after")
    def _every_priority_has_a_target(self) -> "CaseTargets":
        missing = [p for p in PRIORITIES if p not in self.hours]
        if missing:
            raise ValueError(f"case_targets.hours lacks {', '.join(missing)}")
        return self


class OrganisationConfig(_Strict):
    teams: dict[Ident, TeamConfig] = Field(min_length=1)
    departments: dict[Ident, DepartmentConfig] = Field(default_factory=dict)
    case_targets: CaseTargets
    calendars: dict[Ident, CalendarConfig] = Field(default_factory=dict)
    # A customer's new case goes to the owner of their open case, or of one closed this recently.
    continuity_days: float = Field(30, ge=0, le=3650)

    @model_validator(mode="after")
    def _consistent(self) -> "OrganisationConfig":
        defaults = [t for t, team in self.teams.items() if team.default]
        if len(defaults) != 1:
            raise ValueError(f"exactly one team must be default, found {defaults or 'none'}")
        used = [self.case_targets.calendar] + [d.calendar for d in self.departments.values()]
        used += [o.calendar for t in self.teams.values() for o in t.owners]
        unknown = sorted({c for c in used if c is not None and c not in self.calendars})
        if unknown:
            raise ValueError(f"unknown calendar(s): {', '.join(unknown)}")
        _unique_categories(self.teams)
        _unique_people(self.teams)
        return self

    @property
    def default_team(self) -> str:
        return next(t for t, team in self.teams.items() if team.default)

    def category_map(self) -> dict[str, str]:
        return {normalise_key(c): t for t, team in self.teams.items() for c in team.categories}


def _unique_categories(teams: dict[str, TeamConfig]) -> None:
    seen: dict[str, str] = {}
    for team_id, team in teams.items():
        for category in team.categories:
            key = normalise_key(category)
            if not key:
                raise ValueError(f"team {team_id} has an empty category")
            if key in seen and seen[key] != team_id:
                raise ValueError(f"category {category!r} belongs to {seen[key]} and {team_id}")
            seen[key] = team_id


def _unique_people(teams: dict[str, TeamConfig]) -> None:
    """A person works in one team; a lead may lead one team, as a member of it or from outside."""
    member_of: dict[str, str] = {}
    for team_id, team in teams.items():
        for owner in team.owners:
            if owner.id in member_of:
                raise ValueError(f"owner {owner.id} is in {member_of[owner.id]} and {team_id}")
            member_of[owner.id] = team_id
    leads: dict[str, str] = {}
    for team_id, team in teams.items():
        if team.lead in leads:
            raise ValueError(f"{team.lead} leads both {leads[team.lead]} and {team_id}")
        leads[team.lead] = team_id
        if member_of.get(team.lead, team_id) != team_id:
            raise ValueError(f"{team.lead} leads {team_id} but is an owner in another team")


def parse_organisation(text: str, source: str = "organisation file") -> OrganisationConfig:
    try:
        return OrganisationConfig.model_validate(tomllib.loads(text))
    except tomllib.TOMLDecodeError as exc:
        raise OrganisationError(f"{source} is not valid TOML: {exc}") from exc
    except ValidationError as exc:
        raise OrganisationError(f"{source} is not a valid organisation: {exc}") from exc


def read_organisation(path: Path) -> OrganisationConfig:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise OrganisationError(f"cannot read the organisation file {path}: {exc}") from exc
    return parse_organisation(text, str(path))
