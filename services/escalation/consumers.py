"""The events escalation reacts to, in one table."""

from collections.abc import Callable

from services.escalation import handlers
from services.escalation.domain import RuleBook
from shared.events import Envelope
from shared.service import EventHandler, Runtime
from shared.uow import UnitOfWork


def handlers_for(rules: RuleBook) -> Callable[[Runtime], dict[str, EventHandler]]:
    """The handler table, with the priority rules loaded once at start-up."""

    def build_handlers(_: Runtime) -> dict[str, EventHandler]:
        async def complaint_received(uow: UnitOfWork, envelope: Envelope) -> None:
            await handlers.prioritize_complaint(uow, envelope, rules)

        return {"complaint.received": complaint_received}

    return build_handlers
