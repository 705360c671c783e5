"""Response bodies of the escalation API."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.events import Priority


class PriorityPublic(BaseModel):
    complaint_id: str
    priority: Priority = Field(description="P1 (most urgent) to P4.")
    reasons: list[str] = Field(description="Which rule matched which word, one line per rule.")
    appraised_at: datetime
    overridden_by: str | None = Field(
        default=None, description="The supervisor who set this priority by hand, if one did."
    )
    override_reason: str | None = None


class PriorityOverride(BaseModel):
    """A supervisor's priority, with the reason the case's timeline and the owner will read."""

    model_config = ConfigDict(extra="forbid")

    priority: Priority
    reason: str = Field(min_length=3, max_length=500)


class NotificationPublic(BaseModel):
    channel: Literal["email", "webhook"]
    address: str = Field(description="The mailbox, or the team whose chat webhook it went to.")
    status: Literal["queued", "sent", "dropped"]
    attempts: int
    last_error: str | None
    sent_at: datetime | None


class EscalationPublic(BaseModel):
    id: str
    case_id: str | None = Field(description="The case, when the escalation is about one.")
    subject: Literal["case", "task", "audit", "action"]
    subject_id: str
    step: str = Field(description="The rung of the ladder: owner, team_lead, department_head…")
    recipient: str = Field(description="Who the step reached.")
    reason: str
    due_at: datetime = Field(description="The due time that was missed or is near.")
    created_at: datetime
    notifications: list[NotificationPublic] = Field(
        default_factory=list, description="How it was sent: by email, to the team's chat."
    )


class EscalationList(BaseModel):
    items: list[EscalationPublic]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next (older) page.")
