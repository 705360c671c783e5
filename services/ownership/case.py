"""A case as the rules read it: one typed record per row of `cases`, loaded under its lock.

The use cases decide on these fields (who owns it, what state it is in, which proposal and
which confirmation request are current); the write side changes the row with `save_case` and
loads the case again when it needs the new state.
"""

from dataclasses import asdict, dataclass, fields
from datetime import datetime
from typing import Any

from services.ownership.domain import OPEN, Status
from shared.timestamps import as_utc


@dataclass(frozen=True, slots=True)
class Case:
    id: str
    reference: str
    channel: str
    category: str
    product: str | None
    region: str | None
    customer_key: str
    language: str | None
    customer_clock_started_at: datetime
    status: Status
    owner_id: str
    team_id: str
    priority: str | None
    priority_reasons: list[str]
    sla_started_at: datetime
    due_at: datetime | None
    proposal_no: int
    proposed_outcome: str | None
    confirmation_request_id: str | None
    confirmation_request_proposal: int | None
    resolution_summary: str | None
    closed_at: datetime | None
    outcome: str | None
    reopen_count: int
    customer_wrote_at: datetime | None
    merged_into: str | None
    lock_version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: Any) -> "Case":
        """The case of a `cases` row (a Row or a mapping), its times in UTC."""
        values = dict(row._mapping) if hasattr(row, "_mapping") else dict(row)
        kept = {f.name: values[f.name] for f in fields(cls)}
        for name, value in kept.items():
            if isinstance(value, datetime):
                kept[name] = as_utc(value)
        kept["status"] = Status(kept["status"])
        kept["priority_reasons"] = list(kept["priority_reasons"] or [])
        return cls(**kept)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN

    @property
    def request_is_current(self) -> bool:
        """The recorded confirmation request asks about the proposal standing now."""
        return self.confirmation_request_proposal == self.proposal_no

    def as_row(self) -> dict[str, Any]:
        return asdict(self)
