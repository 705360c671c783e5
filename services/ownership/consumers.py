"""The events ownership reacts to, in one table."""

from services.ownership import answers, audits, reactions
from shared.service import EventHandler, Runtime


def build_handlers(_: Runtime) -> dict[str, EventHandler]:
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
    }
