"""Customers: read one, and a supervisor's merge (two records, one person) and split (one
record, two people)."""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Row, select

from services.intake import customers, domain
from services.intake.models import complaints, customer_identifiers, idempotency_keys
from services.intake.models import customers as customer_table
from services.intake.settings import IntakeRuntimeDep
from shared import accesslog as access
from shared.auth import Principal, require
from shared.errors import Conflict, DomainError, NotFound
from shared.idempotency import (
    Answering,
    IdempotencyKey,
    Keyed,
    mark_replayed,
    once,
    request_fingerprint,
)
from shared.uow import UnitOfWork

router = APIRouter(prefix="/v1/customers", tags=["customers"])

Reader = Annotated[Principal, Depends(require("frontend", "supervisor", "admin"))]
Supervisor = Annotated[Principal, Depends(require("supervisor", "admin"))]


class IdentifierBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["ext", "email", "phone", "contact"]
    value: str = Field(min_length=1, max_length=320)


class MergeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    into: str = Field(min_length=1, max_length=36)


class SplitBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    identifiers: list[IdentifierBody] = Field(min_length=1, max_length=50)
    name: str | None = Field(None, min_length=1, max_length=200)


class CustomerPublic(BaseModel):
    id: str
    key: str
    name: str
    merged_into: str | None
    identifiers: list[IdentifierBody]
    complaints: list[str]


def _invalid(message: str) -> DomainError:
    fields = [{"loc": ["body", "identifiers"], "message": message, "type": "value_error"}]
    return DomainError("validation_error", "The request is not valid.", 422, fields=fields)


async def _customer(uow: UnitOfWork, customer_id: str) -> CustomerPublic:
    row = (
        await uow.conn.execute(select(customer_table).where(customer_table.c.id == customer_id))
    ).first()
    if row is None:
        raise NotFound("customer_not_found", f"No customer {customer_id}.")
    held = customer_identifiers.c
    found = await uow.conn.execute(
        select(held.kind, held.value).where(held.customer_id == row.id).order_by(held.kind)
    )
    ids = await uow.conn.scalars(
        select(complaints.c.id)
        .where(complaints.c.customer_id == row.id)
        .order_by(complaints.c.received_at)
    )
    return CustomerPublic(
        id=row.id,
        key=row.key,
        name=row.name,
        merged_into=row.merged_into,
        identifiers=[IdentifierBody(kind=k, value=v) for k, v in found.all()],
        complaints=list(ids),
    )


@router.get("/{customer_id}", response_model=CustomerPublic)
async def read_customer(customer_id: str, rt: IntakeRuntimeDep, who: Reader) -> CustomerPublic:
    """A customer with every identifier they hold and their complaints."""
    async with rt.uow() as uow:
        customer = await _customer(uow, customer_id)
    await access.record(rt, who, customer_id, "GET /v1/customers/{id}")
    return customer


@router.post("/{customer_id}/merge", response_model=CustomerPublic)
async def merge_customer(
    customer_id: str, body: MergeBody, rt: IntakeRuntimeDep, _: Supervisor
) -> CustomerPublic:
    """`customer_id` is the same person as `into`: its identifiers and complaints become the
    other's; new complaints carry the survivor's key (events already sent keep theirs)."""
    if body.into == customer_id:
        raise _invalid("a customer cannot be merged into itself")
    async with rt.uow() as uow:
        await customers.serialise(
            uow.conn, sorted([f"customer:{customer_id}", f"customer:{body.into}"])
        )
        source, target = await _customer(uow, customer_id), await _customer(uow, body.into)
        for merged in (source, target):
            if merged.merged_into is not None:
                raise Conflict(
                    "customer_merged", f"Customer {merged.id} was merged into {merged.merged_into}."
                )
        await customers.merge(uow.conn, source.id, target.id)
        answer = await _customer(uow, target.id)
        await uow.commit()
    return answer


@router.post("/{customer_id}/split", status_code=201, response_model=CustomerPublic)
async def split_customer(
    customer_id: str,
    body: SplitBody,
    rt: IntakeRuntimeDep,
    who: Supervisor,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> CustomerPublic:
    """These identifiers are another person's: a new customer (with a new key) takes them and the
    complaints made under them alone. A repeated Idempotency-Key answers with that customer."""
    settings = rt.settings
    wanted = [_normalised(i, settings.default_phone_region) for i in body.identifiers]
    scope, fp = f"split:{customer_id}", request_fingerprint(body, who.subject)

    async def source_of(uow: UnitOfWork) -> CustomerPublic:
        await customers.serialise(uow.conn, [f"customer:{customer_id}"])
        return await _customer(uow, customer_id)

    async def split(uow: UnitOfWork, source: CustomerPublic) -> CustomerPublic:
        if source.merged_into is not None:
            raise Conflict("customer_merged", f"Customer {source.id} was merged.")
        held = {(i.kind, i.value) for i in source.identifiers}
        if missing := [f"{k}:{v}" for k, v in wanted if (k, v) not in held]:
            raise _invalid(f"not held by this customer: {', '.join(missing)}")
        if held <= set(wanted):
            raise _invalid("a split must leave the customer at least one identifier")
        new_id = await customers.create_split(
            uow.conn, source.id, wanted, body.name or source.name, settings.customer_key_secret
        )
        return await _customer(uow, new_id)

    request = Keyed(idempotency_keys, scope, idempotency_key, fp)
    answer, replayed = await once(rt.uow, request, split, SPLIT_ANSWER, guard=source_of)
    mark_replayed(response, replayed)
    return answer


async def _replay_split(uow: UnitOfWork, row: Row[Any]) -> CustomerPublic:
    return await _customer(uow, str(row.resource_id))


SPLIT_ANSWER = Answering[CustomerPublic](lambda c: {"resource_id": c.id}, _replay_split)


def _normalised(identifier: IdentifierBody, region: str) -> tuple[str, str]:
    value = identifier.value.strip()
    try:
        if identifier.kind == "email":
            return "email", domain.normalise_email(value).lower()
        if identifier.kind == "phone":
            return "phone", domain.normalise_phone(value, region)
    except domain.InvalidContact as exc:
        raise _invalid(str(exc)) from exc
    return identifier.kind, value.lower() if identifier.kind == "contact" else value
