"""Idempotency-Key on the POSTs that create: one helper for every service.

Each service keeps its own `idempotency_keys` table (scope, key, request_hash, created_at, and
what it needs to answer again: the answer itself, or the id of what was created). `once` runs a
creating use case in one unit of work unless the key was used for this request before, in
which case the first answer is given again and nothing changes; the same key with another
request is refused (409 `idempotency_key_reused`). Two concurrent requests with one key both
end with the first one's answer: the loser's insert of the key fails and it answers as the
winner did.
"""

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Header, Response
from pydantic import BaseModel
from pydantic_core import to_jsonable_python
from sqlalchemy import Row, Table, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.errors import Conflict
from shared.uow import UnitOfWork

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=200,
        description="A repeat with the same key and request gets the first answer again and "
        "changes nothing (header `Idempotent-Replayed: true`); the same key with another "
        "request answers 409 `idempotency_key_reused`.",
    ),
]

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)
G = TypeVar("G")


def request_fingerprint(body: BaseModel, *context: str) -> str:
    """SHA-256 of the validated body, and of whatever else makes it this request (who sent it)."""
    digest = hashlib.sha256(body.model_dump_json().encode())
    for part in context:
        digest.update(b"\0" + part.encode())
    return digest.hexdigest()


def mark_replayed(response: Response, replayed: bool) -> None:
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"


@dataclass(frozen=True)
class Keyed:
    """One request under its Idempotency-Key (None: the caller sent none, nothing is kept)."""

    table: Table
    scope: str
    key: str | None
    fingerprint: str

    async def earlier(self, conn: AsyncConnection) -> Row[Any] | None:
        """The row kept for this key, or None; Conflict if it was used for another request."""
        if self.key is None:
            return None
        query = select(self.table).where(
            self.table.c.scope == self.scope, self.table.c.key == self.key
        )
        row = (await conn.execute(query)).first()
        if row is not None and row.request_hash != self.fingerprint:
            raise Conflict(
                "idempotency_key_reused", "This Idempotency-Key was used with a different request."
            )
        return row

    async def remember(self, conn: AsyncConnection, values: dict[str, Any]) -> None:
        if self.key is not None:
            await conn.execute(
                self.table.insert().values(
                    scope=self.scope,
                    key=self.key,
                    request_hash=self.fingerprint,
                    created_at=datetime.now(UTC),
                    **values,
                )
            )


@dataclass(frozen=True)
class Answering(Generic[T]):
    """How a table keeps an answer (`record`: the columns beside the key) and gives it again."""

    record: Callable[[T], dict[str, Any]]
    replay: Callable[[UnitOfWork, Row[Any]], Awaitable[T]]


def stored_model(model: type[M]) -> Answering[M]:
    """A model kept whole in a JSON `response` column and given again as it was first given."""

    async def replay(_: UnitOfWork, row: Row[Any]) -> M:
        return model.model_validate(row.response)

    return Answering(lambda answer: {"response": answer.model_dump(mode="json")}, replay)


async def _stored_body(_: UnitOfWork, row: Row[Any]) -> dict[str, Any]:
    body: dict[str, Any] = row.response
    return body


# A JSON body kept whole in the `response` column (its datetimes as ISO 8601 strings).
STORED_BODY: Answering[dict[str, Any]] = Answering(
    lambda answer: {"response": to_jsonable_python(answer)}, _stored_body
)


async def _unguarded(_: UnitOfWork) -> None:
    return None


async def once(
    open_uow: Callable[[], UnitOfWork],
    request: Keyed,
    create: Callable[[UnitOfWork, G], Awaitable[T]],
    answering: Answering[T],
    *,
    guard: Callable[[UnitOfWork], Awaitable[G]] = _unguarded,  # type: ignore[assignment]
    attempts: int = 1,
) -> tuple[T, bool]:
    """Run `create` and keep its answer under the key, unless the key already has one; returns
    (answer, replayed).

    `guard` runs first in the same transaction, before any replay: the authorisation and the
    lock that serialises requests on one resource; what it returns is given to `create`.
    `attempts` > 1 retries a unit of work that lost a race on another unique row (not the key).
    """
    for attempt in range(attempts):
        try:
            async with open_uow() as uow:
                guarded = await guard(uow)
                if (row := await request.earlier(uow.conn)) is not None:
                    return await answering.replay(uow, row), True
                answer = await create(uow, guarded)
                await request.remember(uow.conn, answering.record(answer))
                await uow.commit()
                return answer, False
        except IntegrityError:
            # A concurrent request with the same key committed first: answer as it did.
            async with open_uow() as uow:
                if (row := await request.earlier(uow.conn)) is not None:
                    return await answering.replay(uow, row), True
            if attempt == attempts - 1:
                raise
    raise AssertionError("attempts must be at least 1")
