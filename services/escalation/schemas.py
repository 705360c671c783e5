"""Response bodies of the escalation API."""

from datetime import datetime

from pydantic import BaseModel, Field

from shared.events import Priority


class PriorityPublic(BaseModel):
    complaint_id: str
    priority: Priority = Field(description="P1 (most urgent) to P4.")
    reasons: list[str] = Field(description="Which rule matched which word, one line per rule.")
    appraised_at: datetime
