"""What the incident API answers: an incident with its Kepner-Tregoe specification."""

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

IncidentStatus = Literal["open", "confirmed", "dismissed", "merged", "resolved"]


class IncidentSummary(BaseModel):
    """An incident as listed."""

    model_config = ConfigDict(populate_by_name=True)

    id: str
    pattern: dict[str, str] = Field(
        description="`pattern` (e.g. `product+region`) and the value of each of its dimensions."
    )
    status: IncidentStatus
    complaint_count: int
    first_at: datetime
    last_at: datetime
    merged_into: str | None = Field(description="The incident this one was merged into.")
    raised_by: Literal["temporal", "cross_sectional", "both"] = Field(
        description="Which test raised it: the key against its own past, against its siblings "
        "in the same window, or both."
    )
    evidence: dict[str, Any] = Field(
        description="The detector's figures for each test that ran (recent count, expected, "
        "ratio, z; for the cross-sectional test the siblings' counts)."
    )
    is_: dict[str, Any] = Field(alias="is", description="What, where, when and extent IS.")
    is_not: dict[str, Any] = Field(description="What, where, when and extent IS NOT.")
    distinctions: list[str]
    created_at: datetime
    updated_at: datetime


class IncidentPublic(IncidentSummary):
    """One incident with its complaints (oldest first)."""

    complaint_ids: list[str]
