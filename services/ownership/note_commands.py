"""Internal notes: what the people working a case tell each other. A note is on the case's
timeline for the owner, the team, the departments asked and the supervisors; it is never sent to
the customer, changes no state and announces nothing on the bus."""

import uuid

from services.ownership.case import Case
from services.ownership.commands import managed_case
from services.ownership.domain import actor
from services.ownership.repository import append, keyed, now
from services.ownership.schemas import NoteCreate, NotePublic
from shared.auth import Principal
from shared.idempotency import once, stored_model
from shared.service import Runtime
from shared.uow import UnitOfWork

NOTE_ANSWER = stored_model(NotePublic)


async def add_note(
    rt: Runtime, case_id: str, body: NoteCreate, who: Principal, key: str | None
) -> tuple[NotePublic, bool]:
    """The case's owner or a supervisor adds a note, open case or closed."""

    async def write(uow: UnitOfWork, case: Case) -> NotePublic:
        note = NotePublic(
            note_id=str(uuid.uuid4()),
            case_id=case.id,
            text=body.text,
            author=actor(who.role, who.subject),
            at=now(),
        )
        detail = {"note_id": note.note_id, "text": note.text}
        await append(uow.conn, case_id, "note", note.author, detail)
        return note

    request = keyed(f"note:{case_id}", key, body)
    return await once(rt.uow, request, write, NOTE_ANSWER, guard=managed_case(case_id, who))
