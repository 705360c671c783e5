"""A problem as its rules read it, and the way its status moves.

open → cause_identified (root cause recorded) → verifying (every action done, cause known) →
closed (the effect is shown) or effect_not_shown (measured again later). A new action takes a
problem back to open or cause_identified: the fix is not finished.
"""

from dataclasses import asdict, dataclass, fields, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from shared.errors import Conflict
from shared.timestamps import as_utc


class ProblemStatus(StrEnum):
    open = "open"
    cause_identified = "cause_identified"
    verifying = "verifying"
    effect_not_shown = "effect_not_shown"
    closed = "closed"


@dataclass(frozen=True, slots=True)
class Problem:
    id: str
    incident_id: str | None
    title: str
    status: ProblemStatus
    key_hash: str | None
    pattern: dict[str, str] | None
    analysis: dict[str, Any] | None
    cause: str | None
    opened_by: str
    fixed_at: datetime | None
    onset_at: datetime | None
    baseline_rate: float | None
    rate_before: float | None
    rate_after: float | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: Any) -> "Problem":
        """The problem of a `problems` row (a Row or a mapping), its times in UTC."""
        values = dict(row._mapping) if hasattr(row, "_mapping") else dict(row)
        kept = {f.name: values[f.name] for f in fields(cls)}
        for name, value in kept.items():
            if isinstance(value, datetime):
                kept[name] = as_utc(value)
        kept["status"] = ProblemStatus(kept["status"])
        return cls(**kept)

    def as_row(self) -> dict[str, Any]:
        return asdict(self)

    def changed(self, **values: Any) -> "Problem":
        return replace(self, **values)

    def refuse_if_closed(self) -> None:
        if self.status == ProblemStatus.closed:
            raise Conflict("problem_closed", f"Problem {self.id} is closed.")

    def status_with_new_action(self) -> ProblemStatus:
        return ProblemStatus.cause_identified if self.cause else ProblemStatus.open

    def status_when_fixed(self) -> ProblemStatus:
        """Every action is done: with a cause on record the effect can be measured."""
        return ProblemStatus.verifying if self.cause else self.status

    def status_with_cause(self) -> ProblemStatus:
        if self.status == ProblemStatus.open:
            # Actions all done before the cause was recorded: the fix can be verified now.
            return ProblemStatus.verifying if self.fixed_at else ProblemStatus.cause_identified
        return self.status

    def refuse_unless_verifiable(self) -> None:
        """Only a fixed problem with a root cause is measured."""
        if self.status != ProblemStatus.closed and not self.cause:
            raise Conflict(
                "root_cause_missing",
                f"Problem {self.id} has no root cause recorded: record the analysis first.",
            )
        if self.status not in (ProblemStatus.verifying, ProblemStatus.effect_not_shown):
            raise Conflict("problem_not_fixed", f"Problem {self.id} is {self.status.value}.")
