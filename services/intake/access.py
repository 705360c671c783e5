"""Who saw what: every read of personal data through the API leaves a row (the principal, when,
which record, which endpoint), written in its own short transaction so that a read is never
refused for the log's sake and never unlogged when it succeeded."""

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy import select

from services.intake.models import access_log
from shared.auth import Principal, require
from shared.service import Runtime, RuntimeDep

router = APIRouter(prefix="/v1", tags=["data protection"])

DataProtection = Annotated[Principal, Depends(require("data_protection"))]


async def record(rt: Runtime, who: Principal, record_id: str, endpoint: str) -> None:
    async with rt.engine.begin() as conn:
        await conn.execute(
            access_log.insert().values(
                at=datetime.now(UTC),
                subject=who.subject,
                role=who.role,
                record=record_id,
                endpoint=endpoint,
            )
        )


@router.get("/access-log")
async def read_access_log(
    rt: RuntimeDep,
    _: DataProtection,
    record_id: Annotated[str | None, Query(alias="record", max_length=64)] = None,
    subject: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> dict[str, Any]:
    """Reads of personal data, newest first, by record (a customer or complaint id) and/or by
    who read."""
    log = access_log.c
    query = select(access_log).order_by(log.id.desc()).limit(limit)
    if record_id is not None:
        query = query.where(log.record == record_id)
    if subject is not None:
        query = query.where(log.subject == subject)
    async with rt.engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    entries = [
        {
            "at": r.at.isoformat(),
            "subject": r.subject,
            "role": r.role,
            "record": r.record,
            "endpoint": r.endpoint,
        }
        for r in rows
    ]
    return {"entries": entries}
