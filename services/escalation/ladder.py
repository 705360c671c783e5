"""The escalation ladder and the rest of config/escalation.toml: pure rules, no I/O."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from services.escalation import detector

CASE_STEPS = ("owner", "team_lead", "head_of_department", "executive")
TASK_STEPS = ("department_lead", "department_head")
KINDS = ("warning", "breached")


@dataclass(frozen=True)
class Contacts:
    executive: str
    head_of_department: str
    team_leads: Mapping[str, str] = field(default_factory=dict)
    departments: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class ProblemRules:
    period_days: float = 7
    required_reduction: float = 0.5
    check_seconds: float = 60
    min_after_days: float = 7
    clock_skew_seconds: float = 300


@dataclass(frozen=True)
class EscalationConfig:
    detector: detector.DetectorConfig
    case_steps: Mapping[str, Mapping[str, tuple[str, ...]]]
    task_steps: Mapping[str, tuple[str, ...]]
    contacts: Contacts
    problems: ProblemRules


@dataclass(frozen=True)
class Step:
    step: str
    to: str
    level: int


def steps_for(config: EscalationConfig, subject: str, kind: str, priority: str) -> tuple[str, ...]:
    if subject == "task":
        return config.task_steps[kind]
    return config.case_steps[priority][kind]


def recipients(
    config: EscalationConfig,
    steps: tuple[str, ...],
    *,
    owner_id: str | None,
    team: str | None,
    department: str | None,
) -> list[Step]:
    """Who each step reaches; a step whose recipient is unknown (a case whose assignment never
    reached us, a team or department without contacts) goes to the head of department."""
    contacts, found = config.contacts, []
    for name in steps:
        if name == "owner":
            to = owner_id
        elif name == "team_lead":
            to = contacts.team_leads.get(team or "")
        elif name == "head_of_department":
            to = contacts.head_of_department
        elif name == "executive":
            to = contacts.executive
        else:
            role = "lead" if name == "department_lead" else "head"
            to = contacts.departments.get(department or "", {}).get(role)
        ladder = TASK_STEPS if name in TASK_STEPS else CASE_STEPS
        found.append(Step(name, to or contacts.head_of_department, ladder.index(name) + 1))
    return found


def parse_config(document: Mapping[str, Any]) -> EscalationConfig:
    """The whole escalation.toml; ValueError says what is wrong."""
    ladder = _table(document.get("ladder"), "[ladder]")
    case = _table(ladder.get("case"), "[ladder.case]")
    case_steps = {}
    for priority in ("P1", "P2", "P3", "P4"):
        case_steps[priority] = _kinds(case.get(priority), f"[ladder.case.{priority}]", CASE_STEPS)
    task_steps = _kinds(ladder.get("task"), "[ladder.task]", TASK_STEPS)
    raw = _table(document.get("contacts"), "[contacts]")
    for name in ("executive", "head_of_department"):
        if not isinstance(raw.get(name), str) or not raw[name]:
            raise ValueError(f"[contacts] {name} must be a non-empty string")
    contacts = Contacts(
        executive=raw["executive"],
        head_of_department=raw["head_of_department"],
        team_leads=dict(_table(raw.get("team_leads", {}), "[contacts.team_leads]")),
        departments={
            k: dict(_table(v, f"[contacts.departments.{k}]"))
            for k, v in _table(raw.get("departments", {}), "[contacts.departments]").items()
        },
    )
    problems = _table(document.get("problems", {}), "[problems]")
    unknown = set(problems) - set(ProblemRules.__dataclass_fields__)
    if unknown:
        raise ValueError(f"[problems]: unknown keys {sorted(unknown)}")
    rules = ProblemRules(**problems)
    if rules.period_days <= 0 or not 0 < rules.required_reduction <= 1:
        raise ValueError("[problems] period_days must be > 0, required_reduction in (0, 1]")
    if not 0 < rules.min_after_days <= rules.period_days or rules.clock_skew_seconds < 0:
        raise ValueError(
            "[problems] min_after_days must be in (0, period_days], clock_skew_seconds >= 0"
        )
    return EscalationConfig(
        detector=detector.parse_config(_table(document.get("detector", {}), "[detector]")),
        case_steps=case_steps,
        task_steps=task_steps,
        contacts=contacts,
        problems=rules,
    )


def _table(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValueError(f"{where} must be a table")
    return value


def _kinds(value: Any, where: str, allowed: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    table = _table(value, where)
    steps = {}
    for kind in KINDS:
        listed = table.get(kind)
        if not isinstance(listed, list) or not listed or any(s not in allowed for s in listed):
            raise ValueError(f"{where} {kind} must list steps among {', '.join(allowed)}")
        steps[kind] = tuple(listed)
    return steps
