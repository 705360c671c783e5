"""Who a complaint is from: one customer record for every identifier the person reaches us with.

A complaint carrying any identifier a customer holds joins that customer, and brings its new
identifiers along; a complaint that names two customers (an email of one, a phone of the other)
proves they are one person and merges them, unless they hold different external ids (two
customer numbers in the front end's own records are two people). The pseudonym other services
see is the customer's key: derived once, from the first complaint, exactly as before customers
existed, so keys already sent stay valid.
"""

import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection

from services.intake import domain
from services.intake.models import complaints, customer_identifiers, customers
from shared.statements import lock_key

Identifier = tuple[str, str]


@dataclass(frozen=True)
class Customer:
    id: str
    key: str
    created_at: datetime


async def serialise(conn: AsyncConnection, names: list[str]) -> None:
    """Hold these names for the rest of the transaction, so that two requests about the same
    customer decide one after the other (PostgreSQL: advisory locks in a fixed order; SQLite
    serialises writers, so the transaction takes the write lock before it reads)."""
    if conn.dialect.name == "postgresql":
        for name in sorted(set(names)):
            await lock_key(conn, name)
    else:
        await conn.execute(update(customers).where(text("0 = 1")).values(name=customers.c.name))


def _lock_names(identifiers: list[Identifier]) -> list[str]:
    return [
        "customer-id:" + hashlib.sha256(f"{k}:{v}".encode()).hexdigest() for k, v in identifiers
    ]


async def resolve(
    conn: AsyncConnection,
    identifiers: list[Identifier],
    *,
    name: str,
    key_source: dict[str, Any],
    secret: str,
) -> Customer:
    """The customer these identifiers name (created, joined or merged), holding all of them."""
    await serialise(conn, _lock_names(identifiers))
    owners = await _owners(conn, identifiers)
    chosen = await _choose(conn, identifiers, set(owners.values()))
    if chosen is None:
        chosen = await _create(conn, name, domain.customer_key(secret, **key_source), secret)
    now = datetime.now(UTC)
    new = [(k, v) for k, v in identifiers if (k, v) not in owners]
    if new:
        rows = [
            {"kind": k, "value": v, "customer_id": chosen.id, "created_at": now} for k, v in new
        ]
        await conn.execute(customer_identifiers.insert(), rows)
    await serialise(conn, [f"customer:{chosen.id}"])
    return chosen


async def _owners(conn: AsyncConnection, identifiers: list[Identifier]) -> dict[Identifier, str]:
    table = customer_identifiers
    query = select(table.c.kind, table.c.value, table.c.customer_id).where(
        tuple_(table.c.kind, table.c.value).in_(identifiers)
    )
    return {(r.kind, r.value): r.customer_id for r in (await conn.execute(query)).all()}


async def _externals(conn: AsyncConnection, customer_ids: set[str]) -> dict[str, set[str]]:
    table = customer_identifiers
    query = select(table.c.customer_id, table.c.value).where(
        table.c.customer_id.in_(customer_ids), table.c.kind == "ext"
    )
    found: dict[str, set[str]] = {c: set() for c in customer_ids}
    for row in (await conn.execute(query)).all():
        found[row.customer_id].add(row.value)
    return found


async def _choose(
    conn: AsyncConnection, identifiers: list[Identifier], candidate_ids: set[str]
) -> Customer | None:
    """Of the customers the identifiers name, the one the complaint joins; the others it proves
    to be the same person are merged into it."""
    if not candidate_ids:
        return None
    externals = await _externals(conn, candidate_ids)
    own = {v for k, v in identifiers if k == "ext"}
    # A customer with another customer number than the complaint's is someone else.
    fitting = [c for c in candidate_ids if not own or not externals[c] or externals[c] & own]
    if not fitting:
        return None
    rows = (
        await conn.execute(
            select(customers).where(customers.c.id.in_(fitting)).order_by(customers.c.created_at)
        )
    ).all()
    found = [Customer(r.id, r.key, r.created_at) for r in rows]
    survivor = next((c for c in found if externals[c.id] & own), found[0])
    held = set(externals[survivor.id])
    for other in found:
        if other.id == survivor.id or (
            externals[other.id] and held and externals[other.id] != held
        ):
            continue
        await merge(conn, other.id, survivor.id)
        held |= externals[other.id]
    return survivor


async def _create(conn: AsyncConnection, name: str, key: str, secret: str) -> Customer:
    customer_id, now = str(uuid.uuid4()), datetime.now(UTC)
    taken = await conn.scalar(select(customers.c.id).where(customers.c.key == key))
    if taken is not None:
        # The identifier the key would come from was split off an earlier customer.
        key = key_of_record(secret, customer_id)
    row = {"id": customer_id, "key": key, "name": name, "created_at": now}
    await conn.execute(customers.insert().values(**row))
    return Customer(customer_id, key, now)


def key_of_record(secret: str, customer_id: str) -> str:
    """The pseudonym of a customer made by a split: from the record, never from an identifier."""
    return hmac.new(secret.encode(), f"customer:{customer_id}".encode(), hashlib.sha256).hexdigest()


async def merge(conn: AsyncConnection, source_id: str, target_id: str) -> None:
    """Everything of `source` becomes `target`'s; the source row stays, pointing at it."""
    for table in (customer_identifiers, complaints):
        await conn.execute(
            update(table).where(table.c.customer_id == source_id).values(customer_id=target_id)
        )
    await conn.execute(
        update(customers)
        .where((customers.c.id == source_id) | (customers.c.merged_into == source_id))
        .values(merged_into=target_id)
    )


async def create_split(
    conn: AsyncConnection, source_id: str, identifiers: list[Identifier], name: str, secret: str
) -> str:
    """A new customer holding `identifiers`, taken from `source`, with the complaints that were
    made under those identifiers only."""
    customer_id = str(uuid.uuid4())
    row = {
        "id": customer_id,
        "key": key_of_record(secret, customer_id),
        "name": name,
        "created_at": datetime.now(UTC),
    }
    await conn.execute(customers.insert().values(**row))
    table = customer_identifiers
    await conn.execute(
        update(table)
        .where(
            table.c.customer_id == source_id, tuple_(table.c.kind, table.c.value).in_(identifiers)
        )
        .values(customer_id=customer_id)
    )
    moving = set(identifiers)
    rows = (
        await conn.execute(select(complaints).where(complaints.c.customer_id == source_id))
    ).all()
    for complaint in rows:
        if set(complaint_identifiers(complaint._asdict())) <= moving:
            await conn.execute(
                update(complaints)
                .where(complaints.c.id == complaint.id)
                .values(customer_id=customer_id)
            )
    return customer_id


def complaint_identifiers(row: dict[str, Any]) -> list[Identifier]:
    return domain.identifiers_of(
        external_id=row["customer_external_id"],
        email=row["customer_email"],
        phone=row["customer_phone"],
        channel=domain.Channel(row["channel"]),
        contact=row["contact"],
    )
