"""Teams' chat webhooks: where a team's escalations are posted, and the secret that signs them."""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select, update

from services.escalation.models import team_webhooks
from shared.errors import NotFound
from shared.service import Runtime


async def put_webhook(rt: Runtime, team: str, url: str, secret: str, by: str) -> dict[str, Any]:
    """Create or replace the team's webhook; the next notification goes to the new URL."""
    values = {"url": url, "secret": secret, "updated_by": by, "updated_at": datetime.now(UTC)}
    async with rt.uow() as uow:
        changed = await uow.conn.execute(
            update(team_webhooks).where(team_webhooks.c.team == team).values(**values)
        )
        if not changed.rowcount:
            await uow.conn.execute(team_webhooks.insert().values(team=team, **values))
        await uow.commit()
    return {"team": team, **{k: v for k, v in values.items() if k != "secret"}}


async def list_webhooks(rt: Runtime) -> list[dict[str, Any]]:
    """Every team's webhook, without its secret."""
    hooks = team_webhooks.c
    query = select(hooks.team, hooks.url, hooks.updated_by, hooks.updated_at).order_by(hooks.team)
    async with rt.engine.connect() as conn:
        return [dict(row._mapping) for row in await conn.execute(query)]


async def delete_webhook(rt: Runtime, team: str) -> None:
    async with rt.uow() as uow:
        gone = await uow.conn.execute(delete(team_webhooks).where(team_webhooks.c.team == team))
        if not gone.rowcount:
            raise NotFound("team_webhook_not_found", f"Team {team} has no webhook.")
        await uow.commit()
