"""Who may read a case: row-level, beside the role checks of the routes.

An owner reads the cases they own and their team's; a department reads the cases it has a task
on (its task list names them); the front ends, supervisors and admins read every case. Internal
notes are for the people working the case: the front ends, which may show a timeline to the
customer, do not get them.
"""

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.ownership.models import tasks
from services.ownership.queue_queries import team_of
from services.ownership.schemas import CasePublic, TimelineEntry
from shared.auth import Principal
from shared.errors import Forbidden

INTERNAL_KINDS = frozenset({"note"})


async def check_readable(conn: AsyncConnection, case: CasePublic, who: Principal) -> None:
    if who.role == "owner":
        if case.owner_id == who.subject or case.team == await team_of(conn, who.subject):
            return
        raise Forbidden("not_your_case", "An owner reads only their own and their team's cases.")
    if who.role == "department":
        asked = await conn.scalar(
            select(func.count())
            .select_from(tasks)
            .where(tasks.c.case_id == case.id, tasks.c.department == who.subject)
        )
        if not asked:
            raise Forbidden(
                "no_task_on_case", "A department reads only the cases it has a task on."
            )


def visible_entries(entries: list[TimelineEntry], who: Principal) -> list[TimelineEntry]:
    if who.role == "frontend":
        return [e for e in entries if e.kind not in INTERNAL_KINDS]
    return entries
