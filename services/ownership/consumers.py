"""The events ownership reacts to, in one table."""

from services.ownership import answers, audits, erasure, reactions, regulatory
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
        "confirmation.requested": answers.note_request,
        "confirmation.confirmed": answers.answer,
        "confirmation.rejected": answers.answer,
        "confirmation.unclear": answers.answer,
        "confirmation.no_answer": audits.note_no_answer,
        "audit.requested": audits.note_audit_requested,
        "audit.completed": audits.audit_completed,
        "customer.erasure_requested": with_dead_letter_purge(
            rt, erasure_handler("ownership", erasure.erase)
        ),
    }
