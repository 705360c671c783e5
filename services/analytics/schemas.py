"""Response bodies of the analytics API."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class Kpis(BaseModel):
    received: int
    closed_confirmed: int
    rejected_resolutions: int
    reopen_rate: float | None
    median_hours_to_confirmation: float | None


class GroupKey(BaseModel):
    key: str | None = Field(description="The group's value; null for complaints without one.")


class GroupKpis(Kpis, GroupKey):
    """One group's metrics, the key first so that each reads as a table row."""


class KpiReport(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: datetime | None = Field(alias="from")
    to: datetime | None
    group_by: str
    groups: list[GroupKpis]
    totals: Kpis
    definitions: dict[str, str]
