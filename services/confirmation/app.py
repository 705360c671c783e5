"""Composition root of the confirmation service."""

from pathlib import Path

from fastapi import FastAPI

from services.confirmation.api import router
from services.confirmation.consumers import build_handlers
from services.confirmation.inbound import SmtpListener
from services.confirmation.models import metadata
from services.confirmation.outbound import send_queued_emails
from services.confirmation.settings import ConfirmationSettings
from shared.service import ServiceSpec, create_service_app

DESCRIPTION = """\
The closure gate: asks the customer, on the channel and address they complained on, whether
the proposed resolution resolves their complaint, and turns their own answer into
`confirmation.confirmed`, `confirmation.rejected` or `confirmation.unclear`.

Email is delivered today (SMTP out; replies to the service's SMTP listener). Requests on the
other channels are recorded as `awaiting_channel` and not delivered yet.
"""


def create_app(settings: ConfirmationSettings | None = None) -> FastAPI:
    settings = settings or ConfirmationSettings()
    spec = ServiceSpec(
        settings=settings,
        metadata=metadata,
        migrations_dir=Path(__file__).parent / "migrations",
        title="Confirmation",
        description=DESCRIPTION,
        routers=[router],
        handlers=build_handlers,
        workers=[send_queued_emails],
    )
    listener = SmtpListener(settings) if settings.smtp_listen_enabled else None
    if listener is not None:
        spec.on_start.append(listener.start)
        spec.workers.append(listener.serve_until_stopped)
    app = create_service_app(spec)
    app.state.smtp_listener = listener
    return app
