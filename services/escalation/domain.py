"""Situation appraisal: the priority of a complaint from configurable keyword rules, with reasons.

Rules come from configuration (see config/priority_rules.toml) so that a call-centre manager can
tune them without a release; this module only parses them and applies them, without I/O.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from services.escalation import situation_signals
from shared.events import ComplaintReceived, Priority

PRIORITIES: tuple[Priority, ...] = ("P1", "P2", "P3", "P4")
FIELDS = (
    "description",
    "category",
    "severity_hint",
    "facts.what",
    "facts.where",
    "facts.when",
    "facts.extent",
)
EFFECTS = ("floor", "raise", "base")


class InvalidRules(ValueError):
    pass


@dataclass(frozen=True)
class Rule:
    """One aggravating (or easing) factor: keywords to look for and what a match does."""

    name: str
    dimension: str
    reason: str
    keywords: tuple[str, ...]
    fields: tuple[str, ...] = FIELDS
    floor: Priority | None = None
    raise_by: int = 0
    base: Priority | None = None
    patterns: tuple[re.Pattern[str], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "patterns", tuple(keyword_pattern(k) for k in self.keywords))

    def first_match(self, texts: Mapping[str, str]) -> tuple[str, str] | None:
        """(matched text, field) of the first keyword found, fields in the rule's order."""
        for name in self.fields:
            text = texts.get(name) or ""
            for pattern in self.patterns:
                found = pattern.search(text)
                if found:
                    return found.group(0), name
        return None

    @property
    def effect(self) -> str:
        if self.floor:
            return f"at least {self.floor}"
        if self.base:
            return f"starts at {self.base}"
        return "one level up" if self.raise_by == 1 else f"{self.raise_by} levels up"


@dataclass(frozen=True)
class RuleBook:
    default: Priority
    default_reason: str
    rules: tuple[Rule, ...]
    amounts: tuple[situation_signals.AmountRule, ...] = ()
    deadline: situation_signals.DeadlineRule | None = None
    incident_raise: int = 1


def keyword_pattern(keyword: str) -> re.Pattern[str]:
    """Whole-word match for Latin words ("burn*" is a prefix); Chinese matches anywhere."""
    word = keyword.strip()
    prefix = word.endswith("*")
    word = word.rstrip("*").strip()
    body = r"\s+".join(re.escape(part) for part in word.split())
    # Chinese has no spaces between words, so word boundaries only apply to ASCII letters/digits.
    left = r"(?<![a-z0-9])" if _is_ascii_word_char(word[0]) else ""
    right = r"(?![a-z0-9])" if _is_ascii_word_char(word[-1]) else ""
    if prefix:
        right = r"[a-z0-9]*"
    return re.compile(left + body + right, re.IGNORECASE)


def _is_ascii_word_char(char: str) -> bool:
    return char.isascii() and char.isalnum()


def complaint_texts(data: ComplaintReceived) -> dict[str, str]:
    """The texts of a received complaint that the rules read, by field name."""
    texts = {
        "description": data.description,
        "category": data.category,
        "severity_hint": data.severity_hint,
        "facts.what": data.facts.what,
        "facts.where": data.facts.where,
        "facts.when": data.facts.when,
        "facts.extent": data.facts.extent,
    }
    return {name: text for name, text in texts.items() if text}


def appraise(complaint_facts: Mapping[str, str], rules: RuleBook) -> tuple[Priority, list[str]]:
    """Priority P1..P4 and one human-readable reason per rule that matched."""
    level = PRIORITIES.index(rules.default)
    matches = [
        (rule, found) for rule in rules.rules if (found := rule.first_match(complaint_facts))
    ]
    amounts = situation_signals.amount_reasons(complaint_facts, rules.amounts)
    deadline = situation_signals.deadline_reason(complaint_facts, rules.deadline)
    bases = [PRIORITIES.index(rule.base) for rule, _ in matches if rule.base]
    if bases:
        level = min(bases)
    for rule, _ in matches:
        if rule.floor:
            level = min(level, PRIORITIES.index(rule.floor))
    for floor, _ in amounts:
        level = min(level, floor)
    # Raises come after floors so urgency still counts on top of seriousness (fraud + deadline).
    level -= sum(rule.raise_by for rule, _ in matches) + sum(up for up, _ in deadline)
    priority = PRIORITIES[max(level, 0)]
    extra = [reason for _, reason in amounts + deadline]
    if not matches and not extra:
        return priority, [rules.default_reason]
    return priority, [
        f'{rule.reason}: "{text}" in {where} (rule {rule.name}, {rule.effect})'
        for rule, (text, where) in matches
    ] + extra


def raise_for_incident(
    priority: Priority, reasons: list[str], incident_id: str, rules: RuleBook
) -> tuple[Priority, list[str]]:
    """Growth: a complaint that is part of an active incident is more urgent than alone."""
    reason = f"part of incident {incident_id}"
    if reason in reasons:
        return priority, reasons
    level = max(PRIORITIES.index(priority) - rules.incident_raise, 0)
    return PRIORITIES[level], [*reasons, reason]


def parse_rules(document: Mapping[str, Any]) -> RuleBook:
    """A RuleBook from the parsed TOML; InvalidRules says what is wrong and where."""
    default = _priority(document.get("default", "P3"), "default")
    default_reason = document.get("default_reason", "no aggravating factor")
    if not isinstance(default_reason, str) or not default_reason.strip():
        raise InvalidRules("default_reason must be a non-empty string")
    entries = document.get("rule", [])
    if not isinstance(entries, list) or not entries:
        raise InvalidRules("at least one [[rule]] is required")
    rules = tuple(_parse_rule(entry, i) for i, entry in enumerate(entries, start=1))
    names = [rule.name for rule in rules]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise InvalidRules(f"rule names must be unique: {', '.join(duplicates)}")
    levels: dict[str, int] = {name: i for i, name in enumerate(PRIORITIES)}
    try:
        amounts = situation_signals.parse_amounts(document.get("amount"), levels)
        deadline = situation_signals.parse_deadline(document.get("deadline"))
    except ValueError as exc:
        raise InvalidRules(str(exc)) from exc
    incident_raise = document.get("incident_raise", 1)
    if isinstance(incident_raise, bool) or incident_raise not in (0, 1, 2, 3):
        raise InvalidRules("incident_raise must be a whole number of levels from 0 to 3")
    return RuleBook(default, default_reason, rules, amounts, deadline, incident_raise)


def _parse_rule(entry: Any, position: int) -> Rule:
    if not isinstance(entry, Mapping):
        raise InvalidRules(f"rule #{position} must be a table")
    name = entry.get("name")
    where = f"rule {name!r}" if isinstance(name, str) and name else f"rule #{position}"
    for key in ("name", "dimension", "reason"):
        if not isinstance(entry.get(key), str) or not entry[key].strip():
            raise InvalidRules(f"{where}: {key} must be a non-empty string")
    unknown = set(entry) - {"name", "dimension", "reason", "keywords", "fields", *EFFECTS}
    if unknown:
        raise InvalidRules(f"{where}: unknown keys {sorted(unknown)}")
    effects = [key for key in EFFECTS if key in entry]
    if len(effects) != 1:
        raise InvalidRules(f"{where}: exactly one of floor, raise, base is required")
    return Rule(
        name=entry["name"],
        dimension=entry["dimension"],
        reason=entry["reason"],
        keywords=_strings(entry.get("keywords"), f"{where}: keywords"),
        fields=_fields(entry.get("fields", list(FIELDS)), where),
        floor=_priority(entry["floor"], f"{where}: floor") if "floor" in entry else None,
        base=_priority(entry["base"], f"{where}: base") if "base" in entry else None,
        raise_by=_levels(entry["raise"], where) if "raise" in entry else 0,
    )


def _priority(value: Any, where: str) -> Priority:
    if value not in PRIORITIES:
        raise InvalidRules(f"{where} must be one of {', '.join(PRIORITIES)}, not {value!r}")
    return cast(Priority, value)


def _levels(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 3:
        raise InvalidRules(f"{where}: raise must be a whole number of levels from 1 to 3")
    return value


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise InvalidRules(f"{where} must be a non-empty list")
    if not all(isinstance(v, str) and v.strip().rstrip("*").strip() for v in value):
        raise InvalidRules(f"{where} must all be non-empty strings")
    return tuple(value)


def _fields(value: Any, where: str) -> tuple[str, ...]:
    fields = _strings(value, f"{where}: fields")
    unknown = [f for f in fields if f not in FIELDS]
    if unknown:
        raise InvalidRules(f"{where}: unknown fields {unknown}; known: {', '.join(FIELDS)}")
    return fields
