"""Teams' chat webhooks: a supervisor or an admin points a team's escalations at its chat tool."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response
from pydantic import BaseModel, ConfigDict, Field, HttpUrl, UrlConstraints

from services.escalation import team_webhook_commands as commands
from shared.auth import Principal, require
from shared.openapi import error_responses
from shared.service import RuntimeDep

router = APIRouter(prefix="/v1/team-webhooks", tags=["escalations"])

Manager = Annotated[Principal, Depends(require("supervisor", "admin"))]
Team = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: Annotated[HttpUrl, UrlConstraints(max_length=2000)] = Field(
        description="http(s) URL the team's escalations are POSTed to."
    )
    secret: str = Field(
        min_length=32,
        max_length=200,
        description="Signs each call: HMAC-SHA256 over '<X-Timestamp>.<raw body>' in X-Signature.",
    )


class WebhookPublic(BaseModel):
    team: str
    url: str
    updated_by: str
    updated_at: datetime


@router.put("/{team}", response_model=WebhookPublic)
async def put_team_webhook(
    team: Team, body: WebhookIn, rt: RuntimeDep, who: Manager
) -> WebhookPublic:
    """Every later escalation of the team's cases and tasks is posted there, signed (audits
    never are: the team's chat is read by the owners)."""
    saved = await commands.put_webhook(rt, team, str(body.url), body.secret, who.subject)
    return WebhookPublic.model_validate(saved)


@router.get("", response_model=list[WebhookPublic])
async def list_team_webhooks(rt: RuntimeDep, _: Manager) -> list[WebhookPublic]:
    """The teams' webhooks, without their secrets."""
    return [WebhookPublic.model_validate(h) for h in await commands.list_webhooks(rt)]


@router.delete("/{team}", status_code=204, responses=error_responses(404))
async def delete_team_webhook(team: Team, rt: RuntimeDep, _: Manager) -> Response:
    """Stop posting the team's escalations; those still queued are dropped."""
    await commands.delete_webhook(rt, team)
    return Response(status_code=204)
