"""The regulators' policy profiles in force, for supervisors and administrators to read."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from services.ownership.policies import PolicyProfiles
from shared.auth import Principal, require

router = APIRouter(prefix="/v1/admin", tags=["organisation"])

Reader = Annotated[Principal, Depends(require("admin", "supervisor"))]


@router.get("/policy-profiles", response_model=PolicyProfiles)
async def read_policy_profiles(request: Request, _: Reader) -> Any:
    """Every profile with its clocks and referral rights, the rules in order and the default."""
    return request.app.state.policies
