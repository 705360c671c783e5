"""Intake use cases: receive a complaint (or join the open one), add a follow-up contact, read."""

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, select

from services.intake import customers, domain, matters
from services.intake.language import detect as detect_language
from services.intake.models import complaints, contacts, idempotency_keys
from services.intake.schemas import ComplaintCreate, ComplaintPublic, ContactCreate, ContactPublic
from services.intake.settings import IntakeRuntime, IntakeSettings
from shared.errors import DomainError, NotFound
from shared.events import ComplaintReceived, new_event
from shared.idempotency import Answering, Keyed, once
from shared.uow import UnitOfWork

PRODUCER = "intake"


def invalid_field(loc: list[str], message: str) -> DomainError:
    fields = [{"loc": ["body", *loc], "message": message, "type": "value_error"}]
    return DomainError("validation_error", "The request is not valid.", 422, fields=fields)


def normalise(body: ComplaintCreate, settings: IntakeSettings) -> dict[str, Any]:
    region = settings.default_phone_region
    try:
        contact = domain.normalise_contact(body.channel, body.contact, region)
    except domain.InvalidContact as exc:
        raise invalid_field(["contact"], f"{exc} (channel {body.channel.value})") from exc
    try:
        email = domain.normalise_email(body.customer.email) if body.customer.email else None
    except domain.InvalidContact as exc:
        raise invalid_field(["customer", "email"], str(exc)) from exc
    try:
        phone = domain.normalise_phone(body.customer.phone, region) if body.customer.phone else None
    except domain.InvalidContact as exc:
        raise invalid_field(["customer", "phone"], str(exc)) from exc
    try:
        language = domain.normalise_language(body.language) if body.language else None
    except domain.InvalidLanguage as exc:
        raise invalid_field(["language"], str(exc)) from exc
    language = language or detect_language(body.description)
    return {"contact": contact, "email": email, "phone": phone, "language": language}


def _now() -> datetime:
    return datetime.now(UTC)


async def _replay_complaint(uow: UnitOfWork, row: Row[Any]) -> ComplaintPublic:
    complaint = await _load(uow, str(row.resource_id))
    return complaint.model_copy(update={"joined": row.outcome == "joined"})


async def _replay_contact(uow: UnitOfWork, row: Row[Any]) -> ContactPublic:
    return await _load_contact(uow, str(row.resource_id))


# Intake's keys keep what was created (or joined) and answer with it as it is now.
COMPLAINT_ANSWER = Answering[ComplaintPublic](
    lambda c: {"resource_id": c.id, "outcome": "joined" if c.joined else None}, _replay_complaint
)
CONTACT_ANSWER = Answering[ContactPublic](lambda c: {"resource_id": c.id}, _replay_contact)

# A concurrent request can win a race on a new identifier: the next attempt finds its customer.
RACE_ATTEMPTS = 3


async def receive_complaint(
    rt: IntakeRuntime, body: ComplaintCreate, idempotency_key: str | None, fingerprint: str
) -> tuple[ComplaintPublic, bool]:
    """Store a complaint and emit `complaint.received`, or join the customer's open complaint on
    the same matter as a follow-up contact; returns (complaint, replayed), `joined` set."""
    settings = rt.settings
    clean = normalise(body, settings)
    request = Keyed(idempotency_keys, "complaint", idempotency_key, fingerprint)

    async def receive(uow: UnitOfWork, _: None) -> ComplaintPublic:
        return await _receive(uow, body, clean, settings)

    return await once(rt.uow, request, receive, COMPLAINT_ANSWER, attempts=RACE_ATTEMPTS)


async def _receive(
    uow: UnitOfWork, body: ComplaintCreate, clean: dict[str, Any], settings: IntakeSettings
) -> ComplaintPublic:
    customer = await customers.resolve(
        uow.conn,
        domain.identifiers_of(
            external_id=body.customer.external_id,
            email=clean["email"],
            phone=clean["phone"],
            channel=body.channel,
            contact=clean["contact"],
        ),
        name=body.customer.name,
        key_source={
            "external_id": body.customer.external_id,
            "email": clean["email"],
            "phone": clean["phone"],
            "contact": clean["contact"],
        },
        secret=settings.customer_key_secret,
    )
    if not body.new_matter:
        matter = await matters.open_matter(
            uow, customer.id, body.category, body.product, settings.join_window_days
        )
        if matter is not None:
            await matters.append_contact(
                uow, matter, body.channel, clean["contact"], body.description
            )
            joined = await _load(uow, matter)
            return joined.model_copy(update={"joined": True})
    row = await insert_complaint(uow, body, clean, customer)
    return _public(row, [])


async def insert_complaint(
    uow: UnitOfWork,
    body: ComplaintCreate,
    clean: dict[str, Any],
    customer: customers.Customer,
    complaint_id: str | None = None,
) -> dict[str, Any]:
    """Store the complaint and emit `complaint.received`; `complaint_id`: the id it was sent in
    under (by email or SMS), else a new one."""
    complaint_id = complaint_id or str(uuid.uuid4())
    received_at, reference = _now(), domain.new_reference()
    row = body.model_dump(exclude={"customer", "new_matter"}, mode="python")
    row.update(
        id=complaint_id,
        reference=reference,
        contact=clean["contact"],
        customer_name=body.customer.name,
        customer_email=clean["email"],
        customer_phone=clean["phone"],
        customer_external_id=body.customer.external_id,
        customer_key=customer.key,
        customer_id=customer.id,
        language=clean["language"],
        facts=body.facts.model_dump(mode="json"),
        received_at=received_at,
        last_contact_at=received_at,
        status="received",
    )
    await uow.conn.execute(complaints.insert(), row)
    data = ComplaintReceived(
        reference=reference,
        customer_key=customer.key,
        channel=body.channel,
        contact=clean["contact"],
        category=body.category,
        product=body.product,
        region=body.region,
        description=body.description,
        severity_hint=body.severity_hint,
        facts=body.facts,
        received_at=received_at,
        language=clean["language"],
    )
    uow.emit(new_event("complaint.received", data, producer=PRODUCER, complaint_id=complaint_id))
    return row


async def add_contact(
    rt: IntakeRuntime, complaint_id: str, body: ContactCreate, idempotency_key: str | None, fp: str
) -> tuple[ContactPublic, bool]:
    """Append a follow-up contact to an existing complaint (never a new complaint)."""
    settings = rt.settings
    try:
        contact = domain.normalise_contact(
            body.channel, body.contact, settings.default_phone_region
        )
    except domain.InvalidContact as exc:
        raise invalid_field(["contact"], str(exc)) from exc
    request = Keyed(idempotency_keys, f"contact:{complaint_id}", idempotency_key, fp)

    async def exists(uow: UnitOfWork) -> None:
        await _require_complaint(uow, complaint_id)

    async def append(uow: UnitOfWork, _: None) -> ContactPublic:
        row = await matters.append_contact(uow, complaint_id, body.channel, contact, body.text)
        return ContactPublic(**row)

    return await once(rt.uow, request, append, CONTACT_ANSWER, guard=exists)


async def get_complaint(rt: IntakeRuntime, complaint_id: str) -> ComplaintPublic:
    async with rt.uow() as uow:
        return await _load(uow, complaint_id)


async def _require_complaint(uow: UnitOfWork, complaint_id: str) -> None:
    found = await uow.conn.scalar(select(complaints.c.id).where(complaints.c.id == complaint_id))
    if found is None:
        raise NotFound("complaint_not_found", f"No complaint {complaint_id}.")


async def _load_contact(uow: UnitOfWork, contact_id: str) -> ContactPublic:
    row = (await uow.conn.execute(select(contacts).where(contacts.c.id == contact_id))).one()
    return ContactPublic.model_validate(row._asdict())


async def _load(uow: UnitOfWork, complaint_id: str) -> ComplaintPublic:
    row = (
        await uow.conn.execute(select(complaints).where(complaints.c.id == complaint_id))
    ).first()
    if row is None:
        raise NotFound("complaint_not_found", f"No complaint {complaint_id}.")
    follow_ups = (
        await uow.conn.execute(
            select(contacts)
            .where(contacts.c.complaint_id == complaint_id)
            .order_by(contacts.c.received_at)
        )
    ).all()
    return _public(row._asdict(), [c._asdict() for c in follow_ups])


def _public(r: dict[str, Any], follow_ups: list[dict[str, Any]]) -> ComplaintPublic:
    customer = {
        "name": r["customer_name"],
        "email": r["customer_email"],
        "phone": r["customer_phone"],
        "external_id": r["customer_external_id"],
    }
    return ComplaintPublic.model_validate({**r, "customer": customer, "contacts": follow_ups})
