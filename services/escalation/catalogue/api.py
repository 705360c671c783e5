"""Catalogue HTTP routes (admin): the entries and their aliases, add an alias, unknown values."""

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, Field

from services.escalation.catalogue import store as catalogue_store
from services.escalation.catalogue.entries import Catalogue, Dimension
from shared.auth import Principal, require
from shared.service import RuntimeDep

router = APIRouter(prefix="/v1/catalogue", tags=["catalogue"])

Admin = Annotated[Principal, Depends(require("admin"))]
EntryId = Annotated[str, Path(min_length=1, max_length=255)]


class AliasIn(BaseModel):
    alias: str = Field(min_length=1, max_length=255, description="Another way it is written.")


def _catalogue(request: Request) -> Catalogue:
    found: Catalogue = request.app.state.escalation_config.detector.catalogue
    return found


Known = Annotated[Catalogue, Depends(_catalogue)]


@router.get("")
async def list_catalogue(rt: RuntimeDep, _: Admin, known: Known) -> dict[str, Any]:
    """Every product, category and region with its aliases, those of the file and those added."""
    return await catalogue_store.list_catalogue(rt, known)


@router.get("/unknown")
async def unknown(
    rt: RuntimeDep,
    _: Admin,
    dimension: Dimension | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[dict[str, Any]]:
    """Values complaints carried that the catalogue does not know, kept as written."""
    return await catalogue_store.unknown_values(rt, dimension, limit)


@router.post("/{dimension}/{entry_id}/aliases", status_code=201)
async def add_alias(
    dimension: Dimension,
    entry_id: EntryId,
    body: AliasIn,
    rt: RuntimeDep,
    who: Admin,
    known: Known,
    response: Response,
) -> dict[str, Any]:
    """Map another spelling to an entry (200 if it already was); another entry's is 409."""
    entry, added = await catalogue_store.add_alias(
        rt, known, dimension, entry_id, body.alias, who.subject, datetime.now(UTC)
    )
    if not added:
        response.status_code = 200
    return entry
