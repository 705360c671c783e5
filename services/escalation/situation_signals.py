"""Situation signals that keywords cannot carry: money amounts and deadlines the customer states.

Both are configured in the priority rules ([[amount]] and [deadline]); this module parses the
configuration and reads the text, without I/O.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

Level = int  # index into P1..P4

# "$5,000", "USD 5000", "5,000 dollars", "5000元", "¥5000", "5万元", "3千元".
_CURRENCY_BEFORE = re.compile(r"(?:\$|US\$|USD\s?|¥|￥|RMB\s?|CNY\s?)\s?(\d[\d,]*(?:\.\d+)?)", re.I)
_CURRENCY_AFTER = re.compile(
    r"(\d[\d,]*(?:\.\d+)?)\s?(万|千)?\s?(?:元|块|dollars?\b|usd\b|rmb\b|yuan\b)", re.I
)
_CHINESE_UNITS = {"万": 10_000, "千": 1_000}
# "within 3 days", "in 48 hours", "3天内", "48小时内": a deadline stated as a delay.
_WITHIN = re.compile(r"(?:within|in)\s+(\d{1,3})\s+(hours?|days?)\b", re.I)
_WITHIN_ZH = re.compile(r"(\d{1,3})\s?(小时|天|日)内")


@dataclass(frozen=True)
class AmountRule:
    minimum: float
    floor: Level
    reason: str


@dataclass(frozen=True)
class DeadlineRule:
    within_hours: float
    raise_by: int
    reason: str


def amounts_in(text: str) -> list[float]:
    """Every money amount written in the text, in units of the currency."""
    found: list[float] = []
    for match in _CURRENCY_BEFORE.finditer(text):
        found.append(float(match.group(1).replace(",", "")))
    for match in _CURRENCY_AFTER.finditer(text):
        value = float(match.group(1).replace(",", ""))
        found.append(value * _CHINESE_UNITS.get(match.group(2) or "", 1))
    return found


def stated_deadline_hours(text: str) -> float | None:
    """The shortest delay the customer gives us, in hours, if they state one."""
    hours: list[float] = []
    for match in _WITHIN.finditer(text):
        hours.append(int(match.group(1)) * (1 if match.group(2).lower().startswith("h") else 24))
    for match in _WITHIN_ZH.finditer(text):
        hours.append(int(match.group(1)) * (1 if match.group(2) == "小时" else 24))
    return min(hours) if hours else None


def amount_reasons(
    texts: Mapping[str, str], rules: tuple[AmountRule, ...]
) -> list[tuple[Level, str]]:
    """(floor, reason) of the highest amount threshold reached, naming the amount and field."""
    best: tuple[float, str] | None = None
    for field, text in texts.items():
        for amount in amounts_in(text):
            if best is None or amount > best[0]:
                best = (amount, field)
    if best is None:
        return []
    reached = [rule for rule in rules if best[0] >= rule.minimum]
    if not reached:
        return []
    rule = max(reached, key=lambda r: r.minimum)
    return [(rule.floor, f"{rule.reason}: {best[0]:g} in {best[1]} (at least {rule.minimum:g})")]


def deadline_reason(texts: Mapping[str, str], rule: DeadlineRule | None) -> list[tuple[int, str]]:
    """(levels up, reason) when the customer's stated deadline is close enough to matter."""
    if rule is None:
        return []
    for field, text in texts.items():
        hours = stated_deadline_hours(text)
        if hours is not None and hours <= rule.within_hours:
            return [(rule.raise_by, f"{rule.reason}: within {hours:g} hours stated in {field}")]
    return []


def parse_amounts(entries: Any, levels: Mapping[str, int]) -> tuple[AmountRule, ...]:
    if entries is None:
        return ()
    if not isinstance(entries, list):
        raise ValueError("[[amount]] must be a list of tables")
    parsed = []
    for position, entry in enumerate(entries, start=1):
        where = f"amount #{position}"
        if not isinstance(entry, Mapping) or set(entry) != {"minimum", "floor", "reason"}:
            raise ValueError(f"{where}: needs exactly minimum, floor and reason")
        minimum = entry["minimum"]
        if isinstance(minimum, bool) or not isinstance(minimum, int | float) or minimum <= 0:
            raise ValueError(f"{where}: minimum must be a positive number")
        if entry["floor"] not in levels:
            raise ValueError(f"{where}: floor must be one of {', '.join(levels)}")
        if not isinstance(entry["reason"], str) or not entry["reason"].strip():
            raise ValueError(f"{where}: reason must be a non-empty string")
        parsed.append(AmountRule(float(minimum), levels[entry["floor"]], entry["reason"]))
    return tuple(parsed)


def parse_deadline(entry: Any) -> DeadlineRule | None:
    if entry is None:
        return None
    if not isinstance(entry, Mapping) or set(entry) != {"within_hours", "raise", "reason"}:
        raise ValueError("[deadline] needs exactly within_hours, raise and reason")
    hours, raise_by = entry["within_hours"], entry["raise"]
    if isinstance(hours, bool) or not isinstance(hours, int | float) or hours <= 0:
        raise ValueError("[deadline] within_hours must be a positive number")
    if isinstance(raise_by, bool) or not isinstance(raise_by, int) or not 1 <= raise_by <= 3:
        raise ValueError("[deadline] raise must be a whole number of levels from 1 to 3")
    if not isinstance(entry["reason"], str) or not entry["reason"].strip():
        raise ValueError("[deadline] reason must be a non-empty string")
    return DeadlineRule(float(hours), raise_by, entry["reason"])
