"""Composition root of the escalation service."""

import dataclasses
import tomllib
from pathlib import Path

from fastapi import FastAPI

from services.escalation import erasure
from services.escalation.api import router
from services.escalation.catalogue import entries as catalogue_entries
from services.escalation.catalogue.api import router as catalogue_router
from services.escalation.consumers import handlers_for
from services.escalation.domain import InvalidRules, RuleBook, parse_rules
from services.escalation.incidents.api import router as incident_router
from services.escalation.ladder import EscalationConfig, parse_config
from services.escalation.models import metadata
from services.escalation.notification_sender import notification_sender
from services.escalation.problems.actions import problem_worker
from services.escalation.problems.api import router as problem_router
from services.escalation.settings import EscalationSettings
from services.escalation.team_webhook_api import router as team_webhook_router
from shared.erasure import personal_data_router
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


def load_config(path: Path) -> EscalationConfig:
    """Read the ladder, detector and problem settings; a bad file stops the service at start-up."""
    try:
        return parse_config(tomllib.loads(path.read_text(encoding="utf-8")))
    except (OSError, tomllib.TOMLDecodeError, ValueError, TypeError) as exc:
        raise InvalidRules(f"escalation configuration {path}: {exc}") from exc


def create_app(settings: EscalationSettings | None = None) -> FastAPI:
    settings = settings or EscalationSettings()
    config = load_config(settings.escalation_path)
    try:
        known = catalogue_entries.load(settings.catalogue_path)
    except catalogue_entries.InvalidCatalogue as exc:
        raise InvalidRules(str(exc)) from exc
    notifying = {"enabled": settings.notifications_enabled, "console_url": settings.console_url}
    config = dataclasses.replace(
        config,
        detector=config.detector.model_copy(update={"catalogue": known}),
        notifications=config.notifications.model_copy(update=notifying),
    )
    app = create_service_app(
        ServiceSpec(
            settings=settings,
            metadata=metadata,
            migrations_dir=Path(__file__).parent / "migrations",
            title="Escalation",
            description=("Priorities with reasons, the escalation ladder, incidents and problems."),
            routers=[
                router,
                incident_router,
                problem_router,
                catalogue_router,
                team_webhook_router,
                personal_data_router("escalation", erasure.HOLDINGS),
            ],
            handlers=handlers_for(load_rules(settings.rules_path), config),
            workers=[problem_worker(config), notification_sender(settings)],
        )
    )
    app.state.escalation_config = config
    return app
