"""Request bodies and answers of the problem API."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from shared.timestamps import IsoDateTime


class PatternIn(BaseModel):
    pattern: Literal["product+region", "product+category", "category+region"]
    product: str | None = Field(default=None, max_length=255)
    category: str | None = Field(default=None, max_length=255)
    region: str | None = Field(default=None, max_length=255)


class ProblemCreate(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    incident_id: str | None = Field(default=None, max_length=36)
    pattern: PatternIn | None = Field(
        default=None, description="Required without an incident: the pattern the fix must reduce."
    )


class HypothesisIn(BaseModel):
    cause: str = Field(min_length=1, max_length=500)
    explains_is: bool = Field(description="Does it explain every IS fact?")
    explains_is_not: bool = Field(description="Does it explain why the IS NOT did not happen?")
    notes: str | None = Field(default=None, max_length=2000)


class AnalysisIn(BaseModel):
    cause_categories: list[str] = Field(min_length=1, max_length=10)
    why_chain: list[str] = Field(min_length=1, max_length=10, description="Why? asked in turn.")
    hypotheses: list[HypothesisIn] = Field(min_length=1, max_length=20)
    most_probable_cause: str = Field(min_length=1, max_length=500)


class ActionCreate(BaseModel):
    kind: Literal["corrective", "preventive"]
    description: str = Field(min_length=1, max_length=2000)
    owner_id: str = Field(min_length=1, max_length=64)
    due_at: datetime


class ActionDone(BaseModel):
    completed_at: IsoDateTime | None = Field(
        default=None,
        description="Defaults to now; never in the future nor before the action was created.",
    )


class VerifyIn(BaseModel):
    as_of: IsoDateTime | None = Field(
        default=None, description="The clock; defaults to now and is never in the future."
    )


ProblemStatus = Literal["open", "cause_identified", "verifying", "effect_not_shown", "closed"]


class ActionPublic(BaseModel):
    id: str
    problem_id: str
    kind: Literal["corrective", "preventive"]
    description: str
    owner_id: str
    due_at: datetime
    status: Literal["open", "done"]
    completed_at: datetime | None
    overdue_notified: bool = Field(description="Escalated to its owner for being overdue.")
    created_at: datetime


class ProblemPublic(BaseModel):
    """A problem with its analysis, its actions and the measured effect of the fix."""

    id: str
    incident_id: str | None
    title: str
    status: ProblemStatus
    pattern: dict[str, str] | None = Field(
        description="`pattern` and its dimensions' values: what the fix must reduce."
    )
    analysis: AnalysisIn | None
    cause: str | None
    opened_by: str
    fixed_at: datetime | None = Field(description="When the last action was done.")
    onset_at: datetime | None = Field(
        description="When the problem began: its incident's first complaint, else its opening."
    )
    baseline_rate: float | None = Field(
        description="From an incident: the complaints a day it was measured against."
    )
    rate_before: float | None = Field(
        description="Complaints a day before the problem began (the baseline, not the burst)."
    )
    rate_after: float | None = Field(description="Complaints a day after the fix.")
    created_at: datetime
    updated_at: datetime
    actions: list[ActionPublic]
