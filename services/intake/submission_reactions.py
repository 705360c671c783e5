"""Complaints the customer sent by email or SMS (confirmation's `complaint.submitted`).

The sender is the customer: a known address or number joins its customer, else a new one is
made. When that customer has an open complaint active within the join window, the message is a
follow-up contact on it — the customer's second email joins their case, whatever they called
it — else it opens a complaint on the channel it came by, under the id the message was
announced with (category `submitted_category`, the subject and the text as description, the
language read from it), announced as
`complaint.received` like any other, so it is owned, prioritised and acknowledged the same way.
Each event is applied once (the inbox); a message intake cannot make a complaint of (a sender
that is no address or number) is logged and dropped, not retried.
"""

from sqlalchemy.exc import IntegrityError

from services.intake import commands, customers, domain, matters
from services.intake.schemas import ComplaintCreate, Customer
from services.intake.settings import IntakeSettings
from shared.errors import DomainError, RetryLater
from shared.events import Channel, ComplaintSubmitted, Envelope
from shared.logging import get_logger
from shared.uow import UnitOfWork

log = get_logger(__name__)
DESCRIPTION_LIMIT = 20_000


async def receive_submission(uow: UnitOfWork, envelope: Envelope, settings: IntakeSettings) -> None:
    data = envelope.parsed()
    assert isinstance(data, ComplaintSubmitted)
    by_email = data.channel == Channel.email
    body = ComplaintCreate(
        customer=Customer(
            name=(data.name or data.contact)[:200],
            email=data.contact if by_email else None,
            phone=None if by_email else data.contact,
        ),
        channel=data.channel,
        contact=data.contact,
        category=settings.submitted_category,
        description=_description(data),
    )
    try:
        clean = commands.normalise(body, settings)
    except DomainError as exc:
        log.warning("submission_refused", inbound_id=data.inbound_id, error=exc.message)
        return
    try:
        customer = await customers.resolve(
            uow.conn,
            domain.identifiers_of(
                external_id=None,
                email=clean["email"],
                phone=clean["phone"],
                channel=body.channel,
                contact=clean["contact"],
            ),
            name=body.customer.name,
            key_source={
                "external_id": None,
                "email": clean["email"],
                "phone": clean["phone"],
                "contact": clean["contact"],
            },
            secret=settings.customer_key_secret,
        )
        open_one = await matters.latest_open(uow, customer.id, settings.join_window_days)
        if open_one is not None:
            await matters.append_contact(
                uow,
                open_one,
                body.channel,
                clean["contact"],
                body.description,
                submission_id=envelope.complaint_id,
            )
            log.info("submission_joined", inbound_id=data.inbound_id, complaint_id=open_one)
            return
        row = await commands.insert_complaint(
            uow, body, clean, customer, complaint_id=envelope.complaint_id
        )
    except IntegrityError as exc:
        # A concurrent complaint took one of these identifiers first: next time it is found.
        raise RetryLater("a concurrent complaint took a new identifier") from exc
    log.info("submission_received", inbound_id=data.inbound_id, complaint_id=row["id"])


def _description(data: ComplaintSubmitted) -> str:
    subject, text = data.subject.strip(), data.text.strip()
    if subject and subject not in text:
        text = f"{subject}\n\n{text}" if text else subject
    return text[:DESCRIPTION_LIMIT] or "(no text)"
