"""The escalation ladder and the rest of config/escalation.toml: pure rules, no I/O."""

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from pydantic import Field, model_validator

from services.escalation.config_model import ConfigModel, table_rule, validate
from services.escalation.incidents.detector import DetectorConfig

CaseStep = Literal["owner", "team_lead", "head_of_department", "executive"]
TaskStep = Literal["department_lead", "department_head"]
CASE_STEPS: tuple[str, ...] = get_args(CaseStep)
TASK_STEPS: tuple[str, ...] = get_args(TaskStep)
KINDS = ("warning", "breached")
EMAIL = re.compile(r"[^@\s<>]{1,64}@[^@\s<>]{1,255}")


class Contacts(ConfigModel):
    """The [contacts] table: who the steps reach."""

    executive: str = Field(min_length=1)
    head_of_department: str = Field(min_length=1)
    team_leads: Mapping[str, str] = Field(default_factory=dict)
    departments: Mapping[str, Mapping[str, str]] = Field(default_factory=dict)


class Notifications(ConfigModel):
    """The [notifications] table: the address each person of the ladder is mailed at. Whether
    to send and where links point are the service's settings, set at start."""

    email: Mapping[str, str] = Field(default_factory=dict)
    enabled: bool = True
    console_url: str = "http://127.0.0.1:8000"

    @model_validator(mode="after")
    def _addresses(self) -> "Notifications":
        wrong = sorted(k for k, v in self.email.items() if not EMAIL.fullmatch(v))
        if wrong:
            raise table_rule(f"email: not an address for {wrong}")
        return self


class ProblemRules(ConfigModel):
    """The [problems] table: when the effect of a fix is measured, and what it must show."""

    period_days: float = Field(default=7, gt=0)
    required_reduction: float = Field(default=0.5, gt=0, le=1)
    check_seconds: float = 60
    min_after_days: float = Field(default=7, gt=0)
    clock_skew_seconds: float = Field(default=300, ge=0)

    @model_validator(mode="after")
    def _after_within_period(self) -> "ProblemRules":
        if self.min_after_days > self.period_days:
            raise table_rule("min_after_days must be at most period_days")
        return self


class CaseKinds(ConfigModel):
    """The steps an SLA warning and an SLA breach of a case reach."""

    warning: tuple[CaseStep, ...] = Field(min_length=1, strict=False)
    breached: tuple[CaseStep, ...] = Field(min_length=1, strict=False)


class TaskKinds(ConfigModel):
    """The steps an SLA warning and an SLA breach of a department task reach."""

    warning: tuple[TaskStep, ...] = Field(min_length=1, strict=False)
    breached: tuple[TaskStep, ...] = Field(min_length=1, strict=False)


class CaseLadder(ConfigModel):
    P1: CaseKinds
    P2: CaseKinds
    P3: CaseKinds
    P4: CaseKinds


class Ladder(ConfigModel):
    case: CaseLadder
    task: TaskKinds


class EscalationFile(ConfigModel):
    """config/escalation.toml as written."""

    ladder: Ladder
    contacts: Contacts
    detector: DetectorConfig = Field(default_factory=DetectorConfig)
    problems: ProblemRules = Field(default_factory=ProblemRules)
    notifications: Notifications = Field(default_factory=Notifications)


@dataclass(frozen=True)
class EscalationConfig:
    detector: DetectorConfig
    case_steps: Mapping[str, Mapping[str, tuple[str, ...]]]
    task_steps: Mapping[str, tuple[str, ...]]
    contacts: Contacts
    problems: ProblemRules
    notifications: Notifications = field(default_factory=Notifications)


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
    file: EscalationFile = validate(EscalationFile, document)
    case = file.ladder.case
    return EscalationConfig(
        detector=file.detector,
        case_steps={p: _kinds(getattr(case, p)) for p in ("P1", "P2", "P3", "P4")},
        task_steps=_kinds(file.ladder.task),
        contacts=file.contacts,
        problems=file.problems,
        notifications=file.notifications,
    )


def _kinds(kinds: CaseKinds | TaskKinds) -> dict[str, tuple[str, ...]]:
    return {"warning": kinds.warning, "breached": kinds.breached}
