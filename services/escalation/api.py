"""Escalation HTTP routes: they only translate to handlers."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from services.escalation import reactions
from services.escalation.schemas import PriorityPublic
from shared.auth import Principal, require
from shared.service import RuntimeDep

router = APIRouter(prefix="/v1", tags=["priorities"])

Reader = Annotated[Principal, Depends(require("owner", "supervisor", "admin", "frontend"))]
ComplaintId = Annotated[str, Path(min_length=1, max_length=64)]


@router.get("/priorities/{complaint_id}", response_model=PriorityPublic)
async def read_priority(complaint_id: ComplaintId, rt: RuntimeDep, _: Reader) -> PriorityPublic:
    """The priority a complaint was given at intake, with the reasons for it."""
    return await reactions.get_priority(rt, complaint_id)
