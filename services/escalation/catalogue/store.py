"""The catalogue as an admin sees and extends it: the file's entries with the aliases added
since, and the values seen that the catalogue does not know."""

from datetime import datetime
from typing import Any

from sqlalchemy import and_, select, update

from services.escalation.catalogue.canonical import catalogued
from services.escalation.catalogue.entries import Catalogue, Entry
from services.escalation.catalogue.keys import normalised_key
from services.escalation.models import catalogue_aliases, value_keys
from shared.errors import Conflict, DomainError, NotFound
from shared.service import Runtime
from shared.statements import insert
from shared.uow import UnitOfWork


def _public(dimension: str, entry: Entry, added: list[dict[str, Any]]) -> dict[str, Any]:
    body = entry.model_dump()
    body["dimension"] = dimension
    body["added_aliases"] = [
        {"alias": a["alias"], "added_by": a["added_by"], "created_at": a["created_at"]}
        for a in added
        if a["canonical_id"] == entry.id
    ]
    return body


async def _added(uow: UnitOfWork, dimension: str) -> list[dict[str, Any]]:
    rows = await uow.conn.execute(
        select(catalogue_aliases)
        .where(catalogue_aliases.c.dimension == dimension)
        .order_by(catalogue_aliases.c.created_at)
    )
    return [dict(r._mapping) for r in rows]


async def list_catalogue(rt: Runtime, catalogue: Catalogue) -> dict[str, list[dict[str, Any]]]:
    async with rt.uow() as uow:
        listed = {}
        for dimension in ("product", "category", "region"):
            added = await _added(uow, dimension)
            entries = catalogue.entries(dimension)
            listed[dimension] = [_public(dimension, e, added) for e in entries]
        return listed


async def add_alias(
    rt: Runtime,
    catalogue: Catalogue,
    dimension: str,
    entry_id: str,
    alias: str,
    by: str,
    now: datetime,
) -> tuple[dict[str, Any], bool]:
    """Map another spelling to an entry; (entry, added). A spelling of another entry is refused."""
    entry = catalogue.find(dimension, entry_id)
    if entry is None:
        raise NotFound(
            "catalogue_entry_not_found", f"No {dimension} {entry_id!r} in the catalogue."
        )
    key = normalised_key(alias)
    if not any(ch.isalnum() for ch in alias):
        raise DomainError("alias_empty", "An alias needs a letter or a digit.", 422)
    async with rt.uow() as uow:
        current = await catalogued(uow.conn, catalogue, dimension, key)
        if current is not None and current != entry_id:
            raise Conflict(
                "alias_taken", f"{alias!r} already stands for {dimension} {current!r}.", id=current
            )
        added = current is None
        if added:
            await uow.conn.execute(
                insert(uow.conn, catalogue_aliases)
                .values(
                    dimension=dimension,
                    key=key,
                    alias=alias.strip(),
                    canonical_id=entry_id,
                    added_by=by,
                    created_at=now,
                )
                .on_conflict_do_nothing()
            )
            # Complaints to come under this spelling count as the entry's; the report of unknown
            # values no longer lists it.
            await uow.conn.execute(
                update(value_keys)
                .where(and_(value_keys.c.dimension == dimension, value_keys.c.key == key))
                .values(value=entry_id, catalogued=True)
            )
            await uow.commit()
        return _public(dimension, entry, await _added(uow, dimension)), added


async def unknown_values(rt: Runtime, dimension: str | None, limit: int) -> list[dict[str, Any]]:
    """Values seen that the catalogue does not know, the most frequent first."""
    async with rt.uow() as uow:
        query = select(value_keys).where(value_keys.c.catalogued.is_(False))
        if dimension:
            query = query.where(value_keys.c.dimension == dimension)
        query = query.order_by(value_keys.c.seen.desc(), value_keys.c.key).limit(limit)
        rows = await uow.conn.execute(query)
        return [{k: v for k, v in r._mapping.items() if k != "catalogued"} for r in rows]
