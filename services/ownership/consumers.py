"""The events ownership reacts to, in one table."""

from services.ownership import answer_reactions, audit_reactions, erasure, reactions, regulatory
from services.ownership.policies import read_policies
from services.ownership.settings import OwnershipRuntime
from shared.erasure import erasure_handler, with_dead_letter_purge
from shared.events import ComplaintReceived, Envelope
from shared.service import EventHandler
from shared.uow import UnitOfWork


def build_handlers(rt: OwnershipRuntime) -> dict[str, EventHandler]:
    settings = rt.settings
    policies = read_policies(settings.policy_profiles_path)

    async def open_case(uow: UnitOfWork, envelope: Envelope) -> None:
        if await reactions.open_case(uow, envelope):
            data = envelope.parsed()
            assert isinstance(data, ComplaintReceived)
            await regulatory.apply_policy(uow, envelope, data, policies)

    return {
        "complaint.received": open_case,
        "complaint.prioritized": reactions.prioritize,
        "complaint.contact_added": reactions.add_contact,
        "complaint.contact_split": reactions.note_split,
        "case.escalated": reactions.note_escalation,
        "customer.message_received": reactions.add_contact,
        "customer.satisfaction_given": reactions.note_satisfaction,
        "confirmation.requested": answer_reactions.note_request,
        "confirmation.confirmed": answer_reactions.answer,
        "confirmation.rejected": answer_reactions.answer,
        "confirmation.unclear": answer_reactions.answer,
        "confirmation.no_answer": audit_reactions.note_no_answer,
        "audit.requested": audit_reactions.note_audit_requested,
        "audit.completed": audit_reactions.audit_completed,
        "customer.erasure_requested": with_dead_letter_purge(
            rt, erasure_handler("ownership", erasure.erase)
        ),
    }
