"""Request and response bodies of the organisation's administration."""

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from services.ownership.organisation import CalendarConfig, Hours, Ident
from shared.events import Priority


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OwnerPut(_Body):
    name: str = Field(min_length=1, max_length=200)
    team: Ident
    capacity: int | None = Field(None, gt=0)
    skills: list[str] = Field(default_factory=list, max_length=100)
    languages: list[str] = Field(default_factory=list, max_length=20)
    away: bool = False
    active: bool = True
    calendar: Ident | None = Field(None, description="Working hours; none: always on shift.")


class AvailabilityPut(_Body):
    away: bool
    reason: str = Field(min_length=1, max_length=1_000)


class TeamPut(_Body):
    name: str = Field(min_length=1, max_length=200)
    lead: Ident
    categories: list[str] = Field(default_factory=list, max_length=500)
    active: bool = True


class DepartmentPut(_Body):
    name: str = Field(min_length=1, max_length=200)
    tasks: dict[Ident, Hours] = Field(min_length=1)
    calendar: Ident | None = None
    active: bool = True


class CalendarPut(CalendarConfig):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PolicyPut(_Body):
    hours: dict[Priority, Hours]
    warning_fraction: float = Field(gt=0, lt=1)
    default_priority: Priority = "P3"
    calendar: Ident | None = None
    continuity_days: float = Field(30, ge=0, le=3650)


class AuditEntry(BaseModel):
    at: datetime
    actor: str
    entity: str
    entity_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class AuditList(BaseModel):
    items: list[AuditEntry]


class HandOver(BaseModel):
    case_id: str
    to_owner_id: str


class OwnerChanged(BaseModel):
    id: str
    after: dict[str, Any]
    handed_over: list[HandOver] = Field(default_factory=list)


class Changed(BaseModel):
    entity: str
    id: str
    after: dict[str, Any]


def jsonable(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value
