"""An escalation reaches people: recorded once, then mailed and posted to the team's chat tool.

`record` stores the escalation (once per subject, due time and step) and, in the same
transaction, queues what it is sent as: an email to the recipient's address from
[notifications.email], and, for a case or task escalation, a signed POST to the webhook of the
case's current team. An audit's escalation goes by email only: the team's chat is read by the
owner, who must not learn of audits. notification_sender.py sends them. A notification names
the case by id and links to the console; it carries nothing personal of the customer.
"""

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

from sqlalchemy import select

from services.escalation.ladder import EscalationConfig
from services.escalation.models import escalations, notifications, team_webhooks
from shared.statements import insert
from shared.uow import UnitOfWork


@dataclass(frozen=True)
class Escalated:
    """One step of a ladder reached: who, about what, and why."""

    subject: str  # case | task | audit | action
    subject_id: str
    due_at: datetime
    step: str
    recipient: str
    case_id: str | None
    reason: str
    team: str | None = None  # the case's team now: its chat webhook hears of it


async def record(
    uow: UnitOfWork, escalated: Escalated, config: EscalationConfig, at: datetime | None = None
) -> bool:
    """Store the escalation and queue its notifications; False when it was stored before."""
    conn, now = uow.conn, datetime.now(UTC)
    escalation_id = str(uuid.uuid4())
    stored = await conn.execute(
        insert(conn, escalations)
        .values(
            id=escalation_id,
            subject=escalated.subject,
            subject_id=escalated.subject_id,
            due_at=escalated.due_at,
            step=escalated.step,
            recipient=escalated.recipient,
            case_id=escalated.case_id,
            reason=escalated.reason,
            created_at=at or now,
        )
        .on_conflict_do_nothing()
    )
    if not stored.rowcount:
        return False
    if not config.notifications.enabled:
        return True
    link = _link(config.notifications.console_url, escalated)
    rows = []
    address = config.notifications.email.get(escalated.recipient)
    if address:
        subject, body = _mail(escalated, link)
        rows.append(("email", address, subject, body))
    if escalated.team and escalated.subject in ("case", "task"):
        hooked = await conn.scalar(
            select(team_webhooks.c.team).where(team_webhooks.c.team == escalated.team)
        )
        if hooked is not None:
            rows.append(("webhook", escalated.team, escalated.reason, _payload(escalated, link)))
    for channel, to, subject, body in rows:
        await conn.execute(
            notifications.insert().values(
                id=str(uuid.uuid4()),
                escalation_id=escalation_id,
                channel=channel,
                address=to,
                subject=subject[:500],
                body=body,
                status="queued",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )
    return True


def _link(console: str, escalated: Escalated) -> str:
    base = console.rstrip("/")
    if escalated.case_id:
        return f"{base}/cases/{quote(escalated.case_id)}"
    return f"{base}/escalations?recipient={quote(escalated.recipient)}"


STEPS = {
    "owner": "the case's owner",
    "team_lead": "the team's lead",
    "head_of_department": "the head of department",
    "executive": "the executive",
    "department_lead": "the department's lead",
    "department_head": "the department's head",
}


def _mail(escalated: Escalated, link: str) -> tuple[str, str]:
    step = STEPS.get(escalated.step, escalated.step)
    subject = f"Escalation to {step}: {escalated.reason}"
    body = "\n".join(
        [
            f"You are escalated to as {step} ({escalated.recipient}).",
            "",
            escalated.reason + ".",
            "",
            f"Open it: {link}",
            "",
            "Sent by the complaints system; replies to this address are not read.",
            "",
        ]
    )
    return subject, body


def _payload(escalated: Escalated, link: str) -> str:
    return json.dumps(
        {
            "type": "escalation",
            "step": escalated.step,
            "to": escalated.recipient,
            "reason": escalated.reason,
            "subject": escalated.subject,
            "subject_id": escalated.subject_id,
            "case_id": escalated.case_id,
            "team": escalated.team,
            "due_at": escalated.due_at.isoformat(),
            "link": link,
            "text": f"Escalation to {escalated.recipient} ({escalated.step}): {escalated.reason}",
        },
        sort_keys=True,
    )
