"""A supervisor splits a follow-up off a complaint: it was another matter all along.

The follow-up becomes a complaint of its own (the same customer, its channel and words, the
category and product the supervisor gives), announced as `complaint.received` so it is owned
and acknowledged like any other; the first complaint keeps the follow-up in its history and is
told where it went (`complaint.contact_split`, on its case's timeline). Once per follow-up.
"""

from sqlalchemy import select, update

from services.intake import commands, customers
from services.intake.models import complaints, contacts
from services.intake.schemas import ComplaintCreate, ComplaintPublic, Customer
from services.intake.settings import IntakeRuntime
from shared.errors import Conflict, NotFound
from shared.events import Channel, ComplaintContactSplit, new_event


async def split_contact(
    rt: IntakeRuntime,
    complaint_id: str,
    contact_id: str,
    category: str,
    product: str | None,
    reason: str,
    by: str,
) -> ComplaintPublic:
    async with rt.uow() as uow:
        query = select(complaints).where(complaints.c.id == complaint_id).with_for_update()
        complaint = (await uow.conn.execute(query)).first()
        if complaint is None:
            raise NotFound("complaint_not_found", f"No complaint {complaint_id}.")
        found = select(contacts).where(
            contacts.c.id == contact_id, contacts.c.complaint_id == complaint_id
        )
        contact = (await uow.conn.execute(found)).first()
        if contact is None:
            raise NotFound("contact_not_found", f"No follow-up {contact_id} on {complaint_id}.")
        if contact.split_into is not None:
            raise Conflict(
                "contact_already_split",
                f"This follow-up is complaint {contact.split_into} already.",
                into=contact.split_into,
            )
        body = ComplaintCreate(
            customer=Customer(
                name=complaint.customer_name,
                email=complaint.customer_email,
                phone=complaint.customer_phone,
                external_id=complaint.customer_external_id,
            ),
            channel=Channel(contact.channel),
            contact=contact.contact,
            category=category,
            product=product,
            description=contact.text,
            language=complaint.language,
            new_matter=True,
        )
        clean = commands.normalise(body, rt.settings)
        customer = customers.Customer(
            id=complaint.customer_id, key=complaint.customer_key, created_at=complaint.received_at
        )
        row = await commands.insert_complaint(uow, body, clean, customer)
        await uow.conn.execute(
            update(contacts).where(contacts.c.id == contact_id).values(split_into=row["id"])
        )
        data = ComplaintContactSplit(contact_id=contact_id, into=row["id"], reason=reason, by=by)
        uow.emit(
            new_event(
                "complaint.contact_split",
                data,
                producer=commands.PRODUCER,
                complaint_id=complaint_id,
            )
        )
        await uow.commit()
    return await commands.get_complaint(rt, row["id"])
