"""The events escalation reacts to, in one table."""

from collections.abc import Callable

from services.escalation import erasure, ladder_reactions, reactions
from services.escalation.domain import RuleBook
from services.escalation.ladder import EscalationConfig
from shared.erasure import erasure_handler, with_dead_letter_purge
from shared.events import Envelope
from shared.service import EventHandler, Runtime
from shared.uow import UnitOfWork


def handlers_for(
    rules: RuleBook, config: EscalationConfig
) -> Callable[[Runtime], dict[str, EventHandler]]:
    """The handler table, with the rules and the configuration loaded once at start-up."""

    def build_handlers(rt: Runtime) -> dict[str, EventHandler]:
        async def complaint_received(uow: UnitOfWork, envelope: Envelope) -> None:
            await reactions.prioritize_complaint(uow, envelope, rules, config.detector)

        async def sla_event(uow: UnitOfWork, envelope: Envelope) -> None:
            await ladder_reactions.climb(uow, envelope, config, rules.default)

        async def audit_overdue(uow: UnitOfWork, envelope: Envelope) -> None:
            await ladder_reactions.audit_overdue(uow, envelope, config)

        return {
            "complaint.received": complaint_received,
            "case.assigned": ladder_reactions.remember_owner,
            "case.reassigned": ladder_reactions.remember_owner,
            "sla.warning": sla_event,
            "sla.breached": sla_event,
            "audit.overdue": audit_overdue,
            "customer.erasure_requested": with_dead_letter_purge(
                rt, erasure_handler("escalation", erasure.erase)
            ),
        }

    return build_handlers
