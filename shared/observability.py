"""Health, readiness and Prometheus metrics, the same on every service."""

import time

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from pydantic import BaseModel, Field
from sqlalchemy import text
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.correlation import accept_correlation_id
from shared.logging import get_logger

log = get_logger(__name__)

HTTP_REQUESTS = Counter("http_requests_total", "HTTP requests", ["method", "route", "status"])
HTTP_LATENCY = Histogram("http_request_duration_seconds", "HTTP request latency", ["route"])
EVENTS_PUBLISHED = Counter("events_published_total", "Events published from the outbox", ["kind"])
EVENTS_CONSUMED = Counter("events_consumed_total", "Events consumed", ["type", "outcome"])
# An alarm: anything above zero is a message no consumer will handle until an operator acts.
DEAD_LETTERS = Gauge("dead_letters", "Messages waiting in a dead-letter queue", ["queue"])
# Events dead-lettered because their publisher does not own their type, or their routing key is
# not their type's (shared/provenance.py says which reason).
EVENTS_REFUSED = Counter("events_refused_total", "Events refused", ["type", "reason"])

CORRELATION_HEADER = "X-Correlation-ID"

router = APIRouter(tags=["operations"])


class Readiness(BaseModel):
    status: str = Field(description="`ready` or `not_ready`.")
    checks: dict[str, str] = Field(description="`ok` or what is wrong, per dependency.")
    dead_letters: dict[str, int] = Field(
        default_factory=dict, description="Messages waiting in each dead-letter queue."
    )


@router.get("/healthz", summary="Liveness: the process is up")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Readiness: the database answers and the broker is connected",
    responses={
        200: {"model": Readiness, "description": "Ready."},
        503: {"model": Readiness, "description": "Not ready: `checks` says why."},
    },
)
async def readyz(request: Request) -> JSONResponse:
    checks: dict[str, str] = {}
    try:
        async with request.app.state.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"error: {type(exc).__name__}"
    bus = getattr(request.app.state, "bus", None)
    checks["broker"] = "ok" if bus is not None and bus.connected else "error: not connected"
    if bus is not None and bus.paused_because is not None:
        checks["consumers"] = f"paused: {bus.paused_because}"
    ready = all(v == "ok" for v in checks.values())
    body: dict[str, object] = {"status": "ready" if ready else "not_ready", "checks": checks}
    runtime = getattr(request.app.state, "runtime", None)
    if runtime is not None:
        # Dead letters do not make a service unready (taking it out of rotation would not bring
        # them back); they are shown here and raised as the `dead_letters` metric.
        body["dead_letters"] = runtime.dead_letters
    return JSONResponse(body, 200 if ready else 503)


@router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


class RequestContextMiddleware:
    """Correlation id in and out, request count and latency: plain ASGI, no per-request task."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        incoming = headers.get(CORRELATION_HEADER.lower().encode())
        cid, refused = accept_correlation_id(incoming.decode("latin-1") if incoming else None)
        if refused is not None:
            log.warning("correlation_id_refused", given=refused, length=len(incoming or b""))
        started, status = time.perf_counter(), 500

        async def send_with_header(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"],
                    (CORRELATION_HEADER.encode(), cid.encode("latin-1")),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_header)
        finally:
            path = getattr(scope.get("route"), "path", "unmatched")
            HTTP_REQUESTS.labels(scope["method"], path, str(status)).inc()
            HTTP_LATENCY.labels(path).observe(time.perf_counter() - started)


def install_request_middleware(app: FastAPI) -> None:
    app.add_middleware(RequestContextMiddleware)
