"""Delivery-webhook routes: a front end says where its customers' confirmation links go."""

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Request

from services.confirmation import delivery
from services.confirmation.schemas import DeliveryWebhookPublic, DeliveryWebhookSet
from services.confirmation.settings import ConfirmationRuntimeDep
from shared.auth import Principal, require

router = APIRouter(prefix="/v1", tags=["delivery webhooks"])

FrontEnd = Annotated[Principal, Depends(require("frontend", "admin"))]
LinkChannel = Annotated[Literal["web", "chat"], Path(description="web or chat")]


@router.put("/delivery-webhooks/{channel}", response_model=DeliveryWebhookPublic)
async def register(
    rt: ConfirmationRuntimeDep,
    who: FrontEnd,
    request: Request,
    channel: LinkChannel,
    body: DeliveryWebhookSet,
) -> DeliveryWebhookPublic:
    """Create or replace where the channel's links are POSTed, signed with `secret`."""
    row = await delivery.register(
        rt, channel, body.url, body.secret, who.subject, request.app.state.clock()
    )
    return DeliveryWebhookPublic.model_validate(row)


@router.get("/delivery-webhooks", response_model=list[DeliveryWebhookPublic])
async def list_webhooks(rt: ConfirmationRuntimeDep, who: FrontEnd) -> list[DeliveryWebhookPublic]:
    """The registered webhooks; their secrets are never shown."""
    return [DeliveryWebhookPublic.model_validate(r) for r in await delivery.registered(rt)]
