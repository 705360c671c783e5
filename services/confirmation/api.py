"""Confirmation HTTP routes: they only translate to handlers."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from services.confirmation.queries import confirmations_of
from services.confirmation.schemas import ConfirmationsPublic
from shared.auth import Principal, require
from shared.service import RuntimeDep

router = APIRouter(prefix="/v1", tags=["confirmations"])

Reader = Annotated[Principal, Depends(require("owner", "supervisor", "admin"))]


@router.get("/confirmations", response_model=ConfirmationsPublic)
async def list_confirmations(
    rt: RuntimeDep,
    _: Reader,
    complaint_id: Annotated[str, Query(min_length=1, max_length=36)],
) -> ConfirmationsPublic:
    """A complaint's confirmation requests, the messages sent and the replies received."""
    return await confirmations_of(rt, complaint_id)
