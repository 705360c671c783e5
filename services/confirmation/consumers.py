"""The events confirmation consumes, each with the use case that handles it."""

from services.confirmation import handlers
from services.confirmation.settings import ConfirmationSettings
from shared.events import Envelope
from shared.service import EventHandler, Runtime
from shared.uow import UnitOfWork


def build_handlers(rt: Runtime) -> dict[str, EventHandler]:
    settings = rt.settings
    assert isinstance(settings, ConfirmationSettings)

    async def resolution_proposed(uow: UnitOfWork, envelope: Envelope) -> None:
        await handlers.request_confirmation(uow, envelope, settings)

    return {
        "complaint.received": handlers.remember_complaint,
        "case.resolution_proposed": resolution_proposed,
        "case.closed": handlers.close_requests,
        "case.reopened": handlers.retire_open_requests,
    }
