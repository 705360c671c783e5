"""Composition root of the escalation service."""

import tomllib
from pathlib import Path

from fastapi import FastAPI

from services.escalation.api import router
from services.escalation.consumers import handlers_for
from services.escalation.domain import InvalidRules, RuleBook, parse_rules
from services.escalation.models import metadata
from services.escalation.settings import EscalationSettings
from shared.service import ServiceSpec, create_service_app


def load_rules(path: Path) -> RuleBook:
    """Read the priority rules; a missing or invalid file stops the service at start-up."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidRules(f"cannot read priority rules {path}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise InvalidRules(f"priority rules {path} are not valid TOML: {exc}") from exc
    try:
        return parse_rules(document)
    except InvalidRules as exc:
        raise InvalidRules(f"priority rules {path}: {exc}") from exc


def create_app(settings: EscalationSettings | None = None) -> FastAPI:
    settings = settings or EscalationSettings()
    return create_service_app(
        ServiceSpec(
            settings=settings,
            metadata=metadata,
            migrations_dir=Path(__file__).parent / "migrations",
            title="Escalation",
            description="Appraises every received complaint into a priority P1..P4 with reasons.",
            routers=[router],
            handlers=handlers_for(load_rules(settings.rules_path)),
        )
    )
