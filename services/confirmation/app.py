"""Composition root of the confirmation service."""

import random
from pathlib import Path

from fastapi import FastAPI

from services.confirmation import audit_api, audits, delivery_api, erasure, page_api, webhook_api
from services.confirmation.api import router
from services.confirmation.clock import Clock, system_clock
from services.confirmation.consumers import handlers_with
from services.confirmation.inbound import SmtpListener
from services.confirmation.models import metadata
from services.confirmation.outbound import sender
from services.confirmation.reminders import reminder
from services.confirmation.settings import ConfirmationSettings
from shared.erasure import personal_data_router
from shared.service import ServiceSpec, create_service_app

DESCRIPTION = """\
The closure gate: asks the customer, on the channel and address they complained on, whether
the proposed resolution resolves their complaint, and turns their own answer into
`confirmation.confirmed`, `confirmation.rejected` or `confirmation.unclear`.

Email (SMTP out; replies to the service's SMTP listener or a signed inbound-mail webhook), SMS
(an HTTP gateway out; a signed webhook in), web and chat (a single-use link to `/c/{token}`, posted
to the front end's signed delivery webhook),
and phone, walk-in and letter (the current owner attests the customer's answer with evidence).
Unanswered requests are reminded on the same channel, then handed back to the owner; a sample
of closed cases is audited by someone other than the owner.
"""


def create_app(
    settings: ConfirmationSettings | None = None,
    clock: Clock | None = None,
    rng: random.Random | None = None,
) -> FastAPI:
    """`clock` and `rng` are injectable so tests control time and audit sampling."""
    settings = settings or ConfirmationSettings()
    clock = clock or system_clock
    spec = ServiceSpec(
        settings=settings,
        metadata=metadata,
        migrations_dir=Path(__file__).parent / "migrations",
        title="Confirmation",
        description=DESCRIPTION,
        routers=[
            router,
            webhook_api.router,
            audit_api.router,
            delivery_api.router,
            page_api.router,
            personal_data_router("confirmation", erasure.HOLDINGS),
        ],
        handlers=handlers_with(clock, rng or random.SystemRandom()),
        workers=[sender(clock), reminder(clock), audits.overdue_watch(clock)],
    )
    listener = SmtpListener(settings) if settings.smtp_listen_enabled else None
    if listener is not None:
        spec.on_start.append(listener.start)
        spec.workers.append(listener.serve_until_stopped)
    app = create_service_app(spec)
    app.state.smtp_listener = listener
    app.state.clock = clock
    return app
