"""Who saw what: every read of personal data through the API leaves a row (the principal, when,
which record, which endpoint), written in its own short transaction so that a read is never
refused for the log's sake and never unlogged when it succeeded."""

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy import Column, Index, Integer, MetaData, String, Table, select

from shared.auth import Principal, require
from shared.service import Runtime, RuntimeDep
from shared.timestamps import UtcDateTime

router = APIRouter(prefix="/v1", tags=["data protection"])

DataProtection = Annotated[Principal, Depends(require("data_protection"))]


def add_access_log(metadata: MetaData) -> Table:
    return Table(
        "access_log",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("at", UtcDateTime(), nullable=False),
        Column("subject", String(200), nullable=False),
        Column("role", String(32), nullable=False),
        Column("record", String(64), nullable=False),
        Column("endpoint", String(200), nullable=False),
        Index("ix_access_log_record", "record", "at"),
        Index("ix_access_log_subject", "subject", "at"),
    )


def _table(rt: Runtime) -> Table:
    return rt.metadata.tables["access_log"]


async def record(rt: Runtime, who: Principal, record_id: str, endpoint: str) -> None:
    access_log = _table(rt)
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
    access_log = _table(rt)
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
