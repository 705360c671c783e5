"""The events ownership reacts to, in one table."""

from services.ownership import answers, audits, erasure, reactions
from shared.erasure import erasure_handler, with_dead_letter_purge
from shared.service import EventHandler, Runtime


def build_handlers(rt: Runtime) -> dict[str, EventHandler]:
    return {
        "complaint.received": reactions.open_case,
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
