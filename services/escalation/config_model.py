"""The base of the models of config/escalation.toml, and how their errors are told.

Each table is a pydantic model: unknown keys are refused, a value of the wrong type is not
coerced (a "3" is not 3, true is not 1), and every problem of a file is told at once, each with
its table and key as in the file: "[detector] alpha: Input should be less than 1".
"""

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic_core import PydanticCustomError

# The error type of a rule across the keys of one table (said of the table, not of a key).
TABLE_RULE = "table_rule"
_NOT_A_TABLE = {"model_type", "model_attributes_type", "dict_type"}


class ConfigModel(BaseModel):
    """One table of the file, read as it is written."""

    model_config: ClassVar[ConfigDict] = ConfigDict(frozen=True, extra="forbid", strict=True)


def table_rule(message: str) -> PydanticCustomError:
    """A rule that relates keys of one table (raised from a model validator)."""
    return PydanticCustomError(TABLE_RULE, message)


def describe(exc: ValidationError, root: tuple[str, ...] = ()) -> str:
    """Every problem of a validation, "; "-separated, each as "[table] key: what is wrong"."""
    unknown: dict[tuple[str, ...], list[str]] = {}
    problems: list[str] = []
    for error in exc.errors():
        path = (*root, *(str(p) for p in error["loc"] if isinstance(p, str)))
        index = "".join(f"[{p}]" for p in error["loc"] if isinstance(p, int))
        if error["type"] == "extra_forbidden":
            unknown.setdefault(path[:-1], []).append(path[-1])
            continue
        message = error["msg"].removeprefix("Value error, ")
        message = "must be a table" if error["type"] in _NOT_A_TABLE else message
        if error["type"] == TABLE_RULE or not path:
            problems.append(f"{_table(path)} {message}")
        else:
            problems.append(f"{_table(path[:-1])} {path[-1]}{index}: {message}")
    problems += [f"{_table(t)}: unknown keys {sorted(keys)}" for t, keys in unknown.items()]
    return "; ".join(problems)


def _table(path: tuple[str, ...]) -> str:
    return f"[{'.'.join(path)}]" if path else "[file]"


def validate(model: type[BaseModel], document: Any, root: tuple[str, ...] = ()) -> Any:
    """The model of the document; ValueError says every problem (see describe)."""
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        raise ValueError(describe(exc, root)) from None
