"""Errors are values with a stable machine-readable code; one handler maps them to HTTP.

An infrastructure fault (the database or the broker unreachable) is not a client's error nor a
bug: it is answered 503 with `Retry-After`, and consumers retry it later (`is_transient`).
"""

import asyncio
from typing import Any

import aiormq
import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.logging import get_logger

log = get_logger(__name__)


class DomainError(Exception):
    status_code = 400

    def __init__(self, code: str, message: str, status_code: int | None = None, **details: Any):
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details
        if status_code is not None:
            self.status_code = status_code


class NotFound(DomainError):
    status_code = 404


class Conflict(DomainError):
    status_code = 409


class Forbidden(DomainError):
    status_code = 403


class RetryLater(Exception):
    """Raised by an event handler for a condition that passes by itself (an event that overtook
    the one it follows): the event is retried on the back-off schedule, not dead-lettered."""


# SQLSTATE classes of a lost or refused connection, an operator's shutdown, exhausted resources,
# and the conflicts a retry resolves; 55000 is what a database closed to connections answers.
_TRANSIENT_SQLSTATES = ("08", "53", "57P", "40001", "40P01", "55000")
RETRY_AFTER_SECONDS = 5


def is_transient(exc: BaseException) -> bool:
    """True for a fault that goes away by itself: waiting and retrying is the right answer."""
    if isinstance(exc, sa_exc.DBAPIError):
        if exc.connection_invalidated or isinstance(
            exc, sa_exc.OperationalError | sa_exc.InterfaceError
        ):
            return True
        code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
        return isinstance(code, str) and code.startswith(_TRANSIENT_SQLSTATES)
    # asyncpg's own, raised unwrapped when a new connection is refused (database closed to
    # connections, server shutting down, too many clients).
    code = getattr(exc, "sqlstate", None)
    if isinstance(code, str) and code.startswith(_TRANSIENT_SQLSTATES):
        return True
    if isinstance(exc, asyncpg.exceptions.InterfaceError):
        return True
    if isinstance(exc, sa_exc.TimeoutError | sa_exc.DisconnectionError):
        return True  # the pool's: no connection to be had in time
    if isinstance(exc, OSError | asyncio.TimeoutError | aiormq.exceptions.AMQPError):
        return True  # refused, reset, timed out; the broker's errors
    cause = exc.__cause__ or exc.__context__
    return cause is not None and cause is not exc and is_transient(cause)


class FieldError(BaseModel):
    """One refused part of a request (a 422's `fields`)."""

    loc: list[str] = Field(description="Where: body, query, path or header, then the names.")
    message: str
    type: str


class ErrorDetail(BaseModel):
    """A refusal: a stable code to branch on, a sentence for people, and details by code."""

    model_config = ConfigDict(extra="allow")

    code: str = Field(description="Stable and machine-readable, e.g. `case_not_found`.")
    message: str
    fields: list[FieldError] | None = Field(None, description="On validation errors.")


class ErrorBody(BaseModel):
    """What every service answers with any 4xx and 503 (see `error_body`)."""

    error: ErrorDetail


def error_body(code: str, message: str, **details: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, **details}}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(_: Request, exc: DomainError) -> JSONResponse:
        return JSONResponse(
            error_body(exc.code, exc.message, **exc.details),
            exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
        if not is_transient(exc):
            raise exc  # a bug: the server error it is
        log.warning("request_infrastructure_fault", path=request.url.path, error=repr(exc)[:300])
        return JSONResponse(
            error_body(
                "service_unavailable",
                "A system this service depends on is unavailable; retry later.",
                retry_after_seconds=RETRY_AFTER_SECONDS,
            ),
            503,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )

    # Starlette looks handlers up along the exception's class hierarchy, so these cover the
    # subclasses (connection refused, reset, pool timeout, broker channel closed).
    faults: tuple[type[Exception], ...] = (
        sa_exc.DBAPIError,
        sa_exc.TimeoutError,
        OSError,
        aiormq.exceptions.AMQPError,
        asyncpg.PostgresError,
        asyncpg.exceptions.InterfaceError,
    )
    for fault in faults:
        app.add_exception_handler(fault, _unavailable)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        fields = [
            {"loc": [str(p) for p in e["loc"]], "message": e["msg"], "type": e["type"]}
            for e in exc.errors()
        ]
        return JSONResponse(
            error_body("validation_error", "The request is not valid.", fields=fields), 422
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {
            401: "unauthenticated",
            403: "forbidden",
            404: "not_found",
            405: "method_not_allowed",
        }
        return JSONResponse(
            error_body(code.get(exc.status_code, "http_error"), str(exc.detail)),
            exc.status_code,
            headers=getattr(exc, "headers", None),
        )
