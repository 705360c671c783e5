"""Request and response bodies of the ownership API."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.events import FinalResponseOutcome, MessageTemplate, Outcome


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TaskCreate(_Body):
    department: str = Field(min_length=1, max_length=64)
    type: str = Field(min_length=1, max_length=64)
    description: str = Field(min_length=1, max_length=5_000)


class TaskComplete(_Body):
    note: str | None = Field(None, max_length=5_000)


class ResolutionCreate(_Body):
    outcome: Outcome
    summary: str = Field(
        min_length=1,
        max_length=5_000,
        description="What was done, or why the request cannot be fulfilled; sent to the customer.",
    )


class FinalResponseCreate(_Body):
    outcome: FinalResponseOutcome
    reasons: str = Field(min_length=1, max_length=10_000, description="Sent to the customer.")
    language: str | None = Field(None, max_length=16, description="BCP 47; default: the case's.")

    @field_validator("reasons")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the reasons must say something")
        return value


class MessageCreate(_Body):
    template: MessageTemplate | None = Field(
        None,
        description="A standard message in the customer's language: `update` (we are working "
        "on it), `need_information` (please reply with what we ask below), `delay` (it takes "
        "longer than we said).",
    )
    text: str | None = Field(
        None, max_length=2_000, description="The owner's own words, sent as written."
    )
    language: str | None = Field(None, max_length=16, description="BCP 47; default: the case's.")

    @field_validator("text")
    @classmethod
    def _text_not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("the text must say something")
        return value

    @model_validator(mode="after")
    def _something_to_say(self) -> "MessageCreate":
        if self.template is None and self.text is None:
            raise ValueError("give a template, a text, or both")
        return self


class MessagePublic(BaseModel):
    message_id: str
    case_id: str
    template: MessageTemplate | None
    text: str | None
    language: str | None
    channel: str
    sent_at: datetime


class NoteCreate(_Body):
    text: str = Field(min_length=1, max_length=4_000, description="For colleagues only.")

    @field_validator("text")
    @classmethod
    def _text_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the note must say something")
        return value


class NotePublic(BaseModel):
    note_id: str
    case_id: str
    text: str
    author: str
    at: datetime


class LinkCreate(_Body):
    case_id: str = Field(min_length=1, max_length=36, description="The case to link it to.")
    reason: str = Field(min_length=3, max_length=500)


class MergeCreate(_Body):
    into: str = Field(min_length=1, max_length=36, description="The case of the same matter.")
    reason: str = Field(min_length=3, max_length=500)


class UnmergeCreate(_Body):
    reason: str = Field(min_length=3, max_length=500)


class ReaskCreate(_Body):
    note: str | None = Field(
        None, max_length=1_000, description="Why the customer is asked again; on the timeline."
    )


class WithdrawCreate(_Body):
    reason: str = Field(
        min_length=1, max_length=1_000, description="Why the proposal is taken back; timeline."
    )


class ReassignCreate(_Body):
    to_owner_id: str = Field(min_length=1, max_length=64)
    reason: str = Field(min_length=1, max_length=1_000)


class ClockPublic(BaseModel):
    clock: str
    started_at: datetime
    due_at: datetime
    warning_at: datetime | None = None
    stopped_at: datetime | None = None
    stopped_by: str | None = Field(None, description="The step that stopped it.")
    warned: bool = False
    breached: bool = False


class CasePublic(BaseModel):
    id: str
    reference: str
    status: str
    owner_id: str
    team: str
    priority: str | None
    priority_reasons: list[str]
    channel: str
    category: str
    product: str | None
    region: str | None
    customer_clock_started_at: datetime
    sla_started_at: datetime
    due_at: datetime | None
    proposal_no: int
    proposed_outcome: str | None
    resolution_summary: str | None
    closed_at: datetime | None
    outcome: str | None
    reopen_count: int
    language: str | None = None
    customer_wrote_at: datetime | None = Field(
        None,
        description="When the customer last wrote without answering a question (a follow-up "
        "contact, a reply on their channel); the timeline has what they wrote.",
    )
    open_tasks: int = 0
    customer_clock_hours: float = Field(
        0.0, description="Receipt to the customer's confirmation (or now); never paused."
    )
    breached: bool = Field(False, description="Internal SLA: due_at passed while open.")
    warning_at: datetime | None = Field(
        None, description="When the SLA warning fires for the current due time (in lists)."
    )
    created_at: datetime
    updated_at: datetime
    policy_profile: str | None = Field(None, description="The regulator's profile applied.")
    clocks: list[ClockPublic] = Field(default_factory=list, description="Its clocks.")
    merged_into: str | None = Field(
        None, description="The case it is merged into (status `merged`): it closes with it."
    )
    merged_cases: list[str] = Field(default_factory=list, description="Cases merged into it.")
    linked_cases: list[str] = Field(default_factory=list, description="Cases linked to it.")


class CaseList(BaseModel):
    items: list[CasePublic]
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next page.")


class TimelineEntry(BaseModel):
    at: datetime
    kind: str
    actor: str
    detail: dict[str, Any]


class Timeline(BaseModel):
    case_id: str
    entries: list[TimelineEntry]


class TaskPublic(BaseModel):
    id: str
    case_id: str
    department: str
    type: str
    description: str
    status: str
    due_at: datetime
    created_at: datetime
    created_by: str
    completed_at: datetime | None = None
    completed_by: str | None = None
    note: str | None = None
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None


class TaskList(BaseModel):
    items: list[TaskPublic]


class OwnerLoad(BaseModel):
    id: str
    name: str
    assignable: bool
    capacity: int | None
    active: bool
    open_cases: int
    skills: list[str] | None = None
    languages: list[str] | None = None
    away: bool = False
    calendar_id: str | None = None


class TeamPublic(BaseModel):
    id: str
    name: str
    lead: str
    default: bool
    active: bool
    categories: list[str]
    owners: list[OwnerLoad]


class DepartmentPublic(BaseModel):
    id: str
    name: str
    active: bool
    tasks: dict[str, float] = Field(description="Business hours per task type: the catalogue.")
    calendar: str | None = Field(None, description="Business-hours calendar; none: 24/7.")


class OrganisationPublic(BaseModel):
    teams: list[TeamPublic]
    departments: list[DepartmentPublic]
    case_targets: dict[str, float] = Field(description="Resolution hours per priority.")
    warning_fraction: float
    default_priority: str
    calendar: str | None = Field(None, description="Calendar of the case targets; none: 24/7.")
    continuity_days: float | None = None
    calendars: dict[str, dict[str, Any]] = Field(default_factory=dict)
