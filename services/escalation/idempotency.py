"""Idempotency-Key on the escalation POSTs that create: the first answer is kept and replayed.

A repeat with the same key and the same request gets the stored answer and changes nothing; the
same key with another request is refused by `shared.idempotency.earlier_use`.
"""

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from pydantic_core import to_jsonable_python
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from services.escalation.models import idempotency_keys
from shared.idempotency import earlier_use
from shared.service import Runtime
from shared.uow import UnitOfWork

Answer = dict[str, Any]


async def replayed(conn: AsyncConnection, scope: str, key: str | None, fp: str) -> Answer | None:
    """The answer given to an earlier request with this key, if there was one."""
    row = await earlier_use(conn, idempotency_keys, scope, key, fp)
    if row is None:
        return None
    answer: Answer = row.response
    return answer


async def remember(
    conn: AsyncConnection, scope: str, key: str | None, fp: str, answer: Answer
) -> None:
    if key is not None:
        await conn.execute(
            idempotency_keys.insert().values(
                scope=scope,
                key=key,
                request_hash=fp,
                response=answer,
                created_at=datetime.now(UTC),
            )
        )


async def once(
    rt: Runtime,
    scope: str,
    key: str | None,
    fp: str,
    create: Callable[[UnitOfWork], Awaitable[Answer]],
) -> tuple[Answer, bool]:
    """Run `create` in one unit of work unless the key was used; returns (answer, replayed)."""
    try:
        async with rt.uow() as uow:
            if (prior := await replayed(uow.conn, scope, key, fp)) is not None:
                return prior, True
            answer: Answer = to_jsonable_python(await create(uow))
            await remember(uow.conn, scope, key, fp, answer)
            await uow.commit()
            return answer, False
    except IntegrityError:
        # A concurrent request with the same key committed first: answer as it did.
        async with rt.uow() as uow:
            prior = await replayed(uow.conn, scope, key, fp)
        if prior is None:
            raise
        return prior, True
