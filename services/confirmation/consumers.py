"""The events confirmation consumes, each with the use case that handles it."""

import random
from collections.abc import Callable

from services.confirmation import (
    acknowledgements,
    audits,
    erasure,
    final_responses,
    owner_messages,
    owner_reactions,
    reactions,
    surveys,
)
from services.confirmation.clock import Clock
from services.confirmation.settings import ConfirmationRuntime
from shared.erasure import erasure_handler, with_dead_letter_purge
from shared.events import Envelope
from shared.service import EventHandler
from shared.uow import UnitOfWork


def handlers_with(
    clock: Clock, rng: random.Random
) -> Callable[[ConfirmationRuntime], dict[str, EventHandler]]:
    def build_handlers(rt: ConfirmationRuntime) -> dict[str, EventHandler]:
        settings = rt.settings

        async def resolution_proposed(uow: UnitOfWork, envelope: Envelope) -> None:
            await reactions.request_confirmation(uow, envelope, settings, clock())

        async def case_assigned(uow: UnitOfWork, envelope: Envelope) -> None:
            await owner_reactions.track_owner(uow, envelope)
            await acknowledgements.acknowledge(uow, envelope, settings, clock())

        async def case_closed(uow: UnitOfWork, envelope: Envelope) -> None:
            await reactions.close_requests(uow, envelope)
            await audits.maybe_audit(uow, envelope, settings, rng, clock())
            await surveys.ask(uow, envelope, settings, clock())

        async def final_response_sent(uow: UnitOfWork, envelope: Envelope) -> None:
            await final_responses.send_final_response(uow, envelope, settings, clock())

        async def message_sent(uow: UnitOfWork, envelope: Envelope) -> None:
            await owner_messages.queue_owner_message(uow, envelope, settings, clock())

        return {
            "case.final_response_sent": final_response_sent,
            "case.message_sent": message_sent,
            "complaint.received": reactions.remember_complaint,
            "case.assigned": case_assigned,
            "case.reassigned": owner_reactions.track_owner,
            "case.resolution_proposed": resolution_proposed,
            # The same proposal asked again under the next number: the same use case.
            "case.confirmation_reasked": resolution_proposed,
            "case.resolution_withdrawn": reactions.withdraw_requests,
            "case.closed": case_closed,
            "case.reopened": reactions.retire_open_requests,
            "customer.erasure_requested": with_dead_letter_purge(
                rt, erasure_handler("confirmation", erasure.erase)
            ),
        }

    return build_handlers
