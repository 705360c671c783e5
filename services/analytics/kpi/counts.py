"""The KPI counts, each declared once: its name, how one complaint's facts add to it (Python) and
how a set of complaint_facts rows sums to it (SQL).

Everything else is generated from `KpiCounts`: the kpi_rollup columns (models.ROLLUP_COUNTS,
in the order of the fields), a complaint's contribution to the rollup (rollup_delta.counts), the
raw KPI query (queries.count_columns) and the counts of a group (kpis.Tally, which adds the
backlog buckets). A new count is one field here.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from sqlalchemy import ColumnElement, Integer, and_, case, func

from shared.events import OUTCOME_CANNOT_FULFIL

Facts = Mapping[Any, Any]  # one complaint_facts row
Columns = Any  # complaint_facts.c (not imported: models builds its columns from these names)


def _count(condition: Any) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0).cast(Integer)


def _sum(column: Any) -> ColumnElement[int]:
    return func.coalesce(func.sum(column), 0).cast(Integer)


@dataclass(frozen=True)
class Rule:
    """How one count is computed: `python(facts)` for one complaint, `sql(c)` over a set;
    `per_task`: a count of department tasks, which count for their own department."""

    python: Callable[[Facts], int]
    sql: Callable[[Columns], ColumnElement[int]]
    per_task: bool = False


def count(
    python: Callable[[Facts], int],
    sql: Callable[[Columns], ColumnElement[int]],
    *,
    per_task: bool = False,
) -> int:
    """A field of KpiCounts (0 by default) carrying its Rule."""
    return field(default=0, metadata={"rule": Rule(python, sql, per_task)})


def _closed(f: Facts) -> bool:
    return f["closed_at"] is not None


def _proposed(f: Facts) -> bool:
    return f["first_proposed_at"] is not None


@dataclass(frozen=True)
class KpiCounts:
    """The additive counts of a set of complaints (a rollup row, a group of a KPI report)."""

    received: int = count(lambda f: 1, lambda c: func.count())
    closed_confirmed: int = count(
        lambda f: int(_closed(f)), lambda c: _count(c.closed_at.is_not(None))
    )
    rejected_resolutions: int = count(lambda f: f["rejections"] or 0, lambda c: _sum(c.rejections))
    reopened: int = count(
        lambda f: int(_proposed(f) and (f["reopen_count"] or 0) > 0),
        lambda c: _count(and_(c.first_proposed_at.is_not(None), c.reopen_count > 0)),
    )
    proposed: int = count(
        lambda f: int(_proposed(f)), lambda c: _count(c.first_proposed_at.is_not(None))
    )
    resolved_proposals: int = count(
        lambda f: f["resolved_proposals"] or 0, lambda c: _sum(c.resolved_proposals)
    )
    resolved_rejected: int = count(
        lambda f: f["resolved_rejected"] or 0, lambda c: _sum(c.resolved_rejected)
    )
    audited: int = count(
        lambda f: int(f["audit_outcome"] is not None),
        lambda c: _count(c.audit_outcome.is_not(None)),
    )
    audit_failed: int = count(
        lambda f: int(f["audit_outcome"] == "failed"), lambda c: _count(c.audit_outcome == "failed")
    )
    attested: int = count(
        lambda f: int(_closed(f) and f["attested"] is True),
        lambda c: _count(and_(c.closed_at.is_not(None), c.attested.is_(True))),
    )
    cannot_fulfil: int = count(
        lambda f: int(_closed(f) and f["outcome"] == OUTCOME_CANNOT_FULFIL),
        lambda c: _count(and_(c.closed_at.is_not(None), c.outcome == OUTCOME_CANNOT_FULFIL)),
    )
    first_contact: int = count(
        lambda f: int(f["first_contact_resolution"] is True),
        lambda c: _count(c.first_contact_resolution.is_(True)),
    )
    tasks_met: int = count(
        lambda f: f["tasks_met"] or 0, lambda c: _sum(c.tasks_met), per_task=True
    )
    tasks_missed: int = count(
        lambda f: f["tasks_missed"] or 0, lambda c: _sum(c.tasks_missed), per_task=True
    )
    with_due: int = count(
        lambda f: int(f["due_at"] is not None), lambda c: _count(c.due_at.is_not(None))
    )
    resolved_on_time: int = count(
        lambda f: int(f["resolved_on_time"] is True),
        lambda c: _count(c.resolved_on_time.is_(True)),
    )
    confirmed_on_time: int = count(
        lambda f: int(f["confirmed_on_time"] is True),
        lambda c: _count(c.confirmed_on_time.is_(True)),
    )
    open: int = count(lambda f: int(not _closed(f)), lambda c: _count(c.closed_at.is_(None)))
    confirmed: int = count(
        lambda f: int(f["hours_to_confirmation"] is not None),
        lambda c: _count(c.hours_to_confirmation.is_not(None)),
    )
    satisfaction_answers: int = count(
        lambda f: int(f["satisfaction_score"] is not None),
        lambda c: _count(c.satisfaction_score.is_not(None)),
    )
    satisfaction_points: int = count(
        lambda f: f["satisfaction_score"] or 0, lambda c: _sum(c.satisfaction_score)
    )
    satisfied: int = count(
        lambda f: int((f["satisfaction_score"] or 0) >= 4),
        lambda c: _count(c.satisfaction_score >= 4),
    )


# (name, rule) of each count, in the order of the kpi_rollup columns.
RULES: tuple[tuple[str, Rule], ...] = tuple((f.name, f.metadata["rule"]) for f in fields(KpiCounts))
NAMES: tuple[str, ...] = tuple(name for name, _ in RULES)
