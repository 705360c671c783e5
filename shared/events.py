"""Integration events: the envelope of DESIGN.md and the data of every event type.

These frozen models are the contract between services; a consumer validates the
`data` of an incoming envelope against the model registered for its type.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final, Literal, Self

from pydantic import BaseModel, ConfigDict, Field

from shared.correlation import current_correlation_id
from shared.logging import get_logger

log = get_logger(__name__)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Channel(StrEnum):
    email = "email"
    sms = "sms"
    phone = "phone"
    web = "web"
    chat = "chat"
    walk_in = "walk_in"
    letter = "letter"


# Channels the system writes to the customer on (and reads their answers from); phone, walk-in
# and letter are answered in person, and the owner records what the customer said.
MESSAGE_CHANNELS = frozenset({Channel.email, Channel.sms, Channel.web, Channel.chat})

Priority = Literal["P1", "P2", "P3", "P4"]
Outcome = Literal["resolved", "cannot_fulfil"]
# The one outcome vocabulary: what the owner proposes is what the case closes with and what
# analytics counts, so a figure can never be computed over a word no service emits.
OUTCOME_RESOLVED: Final = "resolved"
OUTCOME_CANNOT_FULFIL: Final = "cannot_fulfil"


class EventData(BaseModel):
    """The data of one event type: strict to build, tolerant to read.

    A producer cannot add a field its event type does not declare (`extra="forbid"`): building
    the model refuses it, so every field on the bus is declared here and in docs/asyncapi.json.
    A consumer reads with `read` (Envelope.parsed does), which ignores a field it does not
    know, one a newer producer added, and logs it, instead of failing the event.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    @classmethod
    def read(cls, data: Mapping[str, Any], type_: str | None = None) -> Self:
        """The declared fields of `data`; undeclared ones are left out and logged."""
        declared = {field.alias or name for name, field in cls.model_fields.items()}
        unknown = sorted(set(data) - declared)
        if unknown:
            log.warning("event_fields_unknown", type=type_ or cls.__name__, fields=unknown)
        return cls.model_validate(data, extra="ignore")


class Facts(BaseModel):
    model_config = ConfigDict(frozen=True)
    what: str | None = None
    where: str | None = None
    when: str | None = None
    extent: str | None = None


class ComplaintReceived(EventData):
    reference: str
    customer_key: str
    channel: Channel
    contact: str
    category: str
    product: str | None = None
    region: str | None = None
    description: str
    severity_hint: str | None = None
    facts: Facts = Facts()
    received_at: datetime
    language: str | None = Field(None, max_length=16, description="The customer's, e.g. 'en'.")


class ComplaintContactAdded(EventData):
    contact_id: str
    channel: Channel
    contact: str
    text: str
    received_at: datetime


class ComplaintContactSplit(EventData):
    """A supervisor found a follow-up to be another matter: it is its own complaint now."""

    contact_id: str
    into: str = Field(description="The complaint opened from it.")
    reason: str
    by: str


class CustomerMessageReceived(EventData):
    """The customer wrote on their channel, answering no question: a reply to the
    acknowledgement or to another message, a new word on a spent or expired link's thread."""

    inbound_id: str
    channel: Channel
    text: str
    received_at: datetime
    # Why it answered nothing: unknown_token (it carried none), token_used, token_expired.
    reason: str


class ComplaintSubmitted(EventData):
    """A complaint the customer sent to the complaints address or number, as written; intake
    makes it a complaint, or a follow-up of their open one."""

    inbound_id: str
    channel: Channel
    contact: str = Field(description="The sender: the address or the number it came from.")
    name: str | None = Field(None, description="The sender's display name, when the mail had one.")
    subject: str = ""
    text: str
    received_at: datetime


class CustomerSatisfactionGiven(EventData):
    """After the customer's yes, their answer to "how did we do?": 1 (poor) to 5 (excellent).
    It never affects the closure."""

    inbound_id: str
    channel: Channel
    score: int = Field(ge=1, le=5)
    comment: str | None = None
    answered_at: datetime


class ComplaintPrioritized(EventData):
    priority: Priority
    reasons: list[str]
    # A supervisor's override: who set it. Rules and incidents no longer change it after that.
    overridden_by: str | None = None


class CaseAssigned(EventData):
    owner_id: str
    team: str
    due_at: datetime | None = None


class CaseReassigned(EventData):
    from_owner_id: str
    to_owner_id: str
    reason: str
    due_at: datetime | None = None
    # The new owner's team (a hand-over may cross teams): escalations follow the case there.
    team: str | None = None


class CaseResolutionProposed(EventData):
    owner_id: str
    outcome: Outcome
    summary: str
    proposal_no: int


class CaseConfirmationReasked(CaseResolutionProposed):
    """The same proposal put to the customer again under the next number; the old ask is dead."""

    previous_proposal_no: int


class CaseResolutionWithdrawn(EventData):
    """The owner took the proposal back: its confirmation request must no longer be answered."""

    proposal_no: int
    reason: str


class CaseClosed(EventData):
    request_id: str
    reason: str
    outcome: Outcome
    attested: bool = False
    proposal_no: int = 0  # the proposal the customer accepted; 0 on events made before it
    # A case merged into another closes with it: the customer's yes there covers its matter.
    with_case: str | None = None


class CaseMerged(EventData):
    """A supervisor folded this case into another about the same matter: it is worked and
    closed there, and its own SLA stops; its story stays on its timeline."""

    into: str
    reason: str
    by: str


class CaseUnmerged(EventData):
    """The merge was wrong: the case is worked on its own again, its SLA planned from now."""

    from_case: str
    reason: str
    by: str


class CaseReopened(EventData):
    request_id: str
    reason: str
    reopen_count: int
    # Which proposal's request this retires; 0 (events made before it): every open one.
    proposal_no: int = 0


class TaskCreated(EventData):
    task_id: str
    department: str
    type: str
    due_at: datetime


class TaskCompleted(EventData):
    task_id: str
    department: str
    type: str
    due_at: datetime
    completed_at: datetime


class SlaEvent(EventData):
    subject: Literal["case", "task"]
    id: str
    department: str | None = None
    due_at: datetime
    level: str


class CaseEscalated(EventData):
    level: str
    to: str
    reason: str
    subject: Literal["case", "task", "audit"] = "case"
    subject_id: str | None = None
    department: str | None = None


class IncidentDetected(EventData):
    incident_id: str
    pattern: dict[str, str]
    complaint_ids: list[str]
    is_: dict[str, Any] = Field(default_factory=dict, alias="is")
    is_not: dict[str, Any] = Field(default_factory=dict)
    # What sets the pattern apart from its siblings, in words ("only product X, not Y").
    distinctions: list[str] = Field(default_factory=list)
    # "temporal" (the key's own past), "cross_sectional" (its siblings now) or "both".
    raised_by: str | None = None
    evidence: dict[str, Any] = Field(default_factory=dict)


class ConfirmationRequested(EventData):
    request_id: str
    channel: Channel
    sent_at: datetime
    proposal_no: int = 0  # the proposal asked about; 0 on events made before it


class ConfirmationAnswered(EventData):
    request_id: str
    channel: Channel
    received_at: datetime
    evidence: str
    attested: bool = False
    proposal_no: int = 0  # the proposal answered; 0 on events made before it


class AuditCompleted(EventData):
    complaint_id: str
    outcome: Literal["passed", "failed"]
    audit_id: str | None = None
    auditor_id: str | None = None
    notes: str | None = None
    request_id: str | None = None  # the confirmation request whose closure was audited


class TaskAcknowledged(EventData):
    task_id: str
    department: str
    type: str
    due_at: datetime
    acknowledged_at: datetime


class ConfirmationReminderSent(EventData):
    request_id: str
    channel: Channel
    reminder_no: int
    sent_at: datetime


class ConfirmationNoAnswer(EventData):
    """The customer did not answer after every reminder: the owner must contact them."""

    request_id: str
    channel: Channel
    reminders_sent: int


class AuditRequested(EventData):
    audit_id: str
    # Not published: whoever reads what ownership records (the owner) must not learn who audits.
    auditor_id: str | None = None
    attested: bool


class AuditOverdue(EventData):
    """An audit still open at its due time: nobody reached the customer; someone must act."""

    audit_id: str
    attested: bool
    due_at: datetime


class IncidentChanged(EventData):
    incident_id: str
    status: str
    complaint_ids: list[str] = Field(default_factory=list)
    merged_into: str | None = None


class ProblemEvent(EventData):
    problem_id: str
    incident_id: str | None = None
    title: str | None = None
    cause: str | None = None
    rate_before: float | None = None
    rate_after: float | None = None


class ActionEvent(EventData):
    action_id: str
    problem_id: str
    kind: Literal["corrective", "preventive"]
    owner_id: str
    due_at: datetime
    completed_at: datetime | None = None


class RegulatoryClock(EventData):
    clock: str = Field(description="The clock's name in its profile, e.g. 'final_response'.")
    started_at: datetime
    due_at: datetime
    warning_at: datetime | None = None


class CasePolicyApplied(EventData):
    """The regulator's profile chosen for a case and the clocks it started."""

    profile: str
    clocks: list[RegulatoryClock]


class RegulatoryClockEvent(EventData):
    """A regulator's clock warned, breached or stopped; routed as `regulatory.<kind>.<profile>`."""

    profile: str
    clock: str
    started_at: datetime
    due_at: datetime
    at: datetime


FinalResponseOutcome = Literal["upheld", "partially_upheld", "not_upheld"]


class CaseFinalResponseSent(EventData):
    """The owner's final response: its outcome, reasons and the referral rights of the profile."""

    owner_id: str
    profile: str | None = None
    outcome: FinalResponseOutcome
    reasons: str
    referral_rights: str
    language: str | None = None
    sent_at: datetime


MessageTemplate = Literal["update", "need_information", "delay"]


class CaseMessageSent(EventData):
    """The owner writes to the customer on the original channel: a template, their own words,
    or both. It asks no question: the customer's reply joins the timeline, it closes nothing."""

    message_id: str
    owner_id: str
    template: MessageTemplate | None = None
    text: str | None = None
    language: str | None = None
    sent_at: datetime


class CustomerErasureRequested(EventData):
    """Erase the personal data of these complaints; no personal data travels with the request."""

    request_id: str
    customer_id: str
    complaint_ids: list[str]
    reason: Literal["request", "retention"] = "request"


class CustomerErased(EventData):
    """One service has erased (or masked) what it held for the request; type names the service."""

    request_id: str
    customer_id: str
    complaint_ids: list[str]
    erased_rows: int


EVENT_DATA: dict[str, type[EventData]] = {
    "complaint.received": ComplaintReceived,
    "complaint.contact_added": ComplaintContactAdded,
    "complaint.contact_split": ComplaintContactSplit,
    "customer.message_received": CustomerMessageReceived,
    "customer.satisfaction_given": CustomerSatisfactionGiven,
    "complaint.submitted": ComplaintSubmitted,
    "complaint.prioritized": ComplaintPrioritized,
    "case.assigned": CaseAssigned,
    "case.reassigned": CaseReassigned,
    "case.resolution_proposed": CaseResolutionProposed,
    "case.confirmation_reasked": CaseConfirmationReasked,
    "case.resolution_withdrawn": CaseResolutionWithdrawn,
    "case.closed": CaseClosed,
    "case.merged": CaseMerged,
    "case.unmerged": CaseUnmerged,
    "case.reopened": CaseReopened,
    "case.escalated": CaseEscalated,
    "task.created": TaskCreated,
    "task.completed": TaskCompleted,
    "sla.warning": SlaEvent,
    "sla.breached": SlaEvent,
    "incident.detected": IncidentDetected,
    "confirmation.requested": ConfirmationRequested,
    "confirmation.confirmed": ConfirmationAnswered,
    "confirmation.rejected": ConfirmationAnswered,
    "confirmation.unclear": ConfirmationAnswered,
    "audit.completed": AuditCompleted,
    "audit.requested": AuditRequested,
    "audit.overdue": AuditOverdue,
    "task.acknowledged": TaskAcknowledged,
    "confirmation.reminder_sent": ConfirmationReminderSent,
    "confirmation.no_answer": ConfirmationNoAnswer,
    "incident.updated": IncidentChanged,
    "problem.opened": ProblemEvent,
    "problem.cause_identified": ProblemEvent,
    "problem.effect_verified": ProblemEvent,
    "problem.effect_not_shown": ProblemEvent,
    "action.created": ActionEvent,
    "action.completed": ActionEvent,
    "case.policy_applied": CasePolicyApplied,
    "case.final_response_sent": CaseFinalResponseSent,
    "case.message_sent": CaseMessageSent,
    "regulatory.warning": RegulatoryClockEvent,
    "regulatory.breached": RegulatoryClockEvent,
    "regulatory.stopped": RegulatoryClockEvent,
    "customer.erasure_requested": CustomerErasureRequested,
    "customer.erased.intake": CustomerErased,
    "customer.erased.escalation": CustomerErased,
    "customer.erased.ownership": CustomerErased,
    "customer.erased.confirmation": CustomerErased,
    "customer.erased.analytics": CustomerErased,
}


class Envelope(BaseModel):
    """One message on the bus. `routing_key` is the type, plus `.<department>` where scoped."""

    model_config = ConfigDict(frozen=True)

    event_id: str = Field(default_factory=lambda: str(uuid.uuid4()))
    type: str
    version: int = 1
    occurred_at: datetime = Field(default_factory=utcnow)
    producer: str
    complaint_id: str | None = None
    correlation_id: str
    causation_id: str | None = None
    data: dict[str, Any]
    routing_suffix: str | None = Field(default=None, exclude=True)

    @property
    def routing_key(self) -> str:
        return f"{self.type}.{self.routing_suffix}" if self.routing_suffix else self.type

    def parsed(self) -> EventData:
        model = EVENT_DATA.get(self.type)
        if model is None:
            raise UnknownEventType(self.type)
        return model.read(self.data, self.type)


class UnknownEventType(ValueError):
    pass


def new_event(
    type_: str,
    data: EventData,
    *,
    producer: str,
    complaint_id: str | None,
    cause: Envelope | None = None,
    routing_suffix: str | None = None,
    occurred_at: datetime | None = None,
) -> Envelope:
    """Build an envelope; correlation flows from the causing event or the current request."""
    if EVENT_DATA.get(type_) is not type(data):
        raise UnknownEventType(f"{type_} does not carry {type(data).__name__}")
    correlation = cause.correlation_id if cause else current_correlation_id()
    return Envelope(
        type=type_,
        producer=producer,
        complaint_id=complaint_id,
        correlation_id=correlation,
        causation_id=cause.event_id if cause else None,
        data=data.model_dump(mode="json", by_alias=True),
        routing_suffix=routing_suffix,
        occurred_at=occurred_at or utcnow(),
    )
