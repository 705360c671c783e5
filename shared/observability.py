"""Health, readiness and Prometheus metrics, the same on every service."""

import time
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from sqlalchemy import text

from shared.correlation import set_correlation_id

HTTP_REQUESTS = Counter("http_requests_total", "HTTP requests", ["method", "route", "status"])
HTTP_LATENCY = Histogram("http_request_duration_seconds", "HTTP request latency", ["route"])
EVENTS_PUBLISHED = Counter("events_published_total", "Events published from the outbox", ["kind"])
EVENTS_CONSUMED = Counter("events_consumed_total", "Events consumed", ["type", "outcome"])

CORRELATION_HEADER = "X-Correlation-ID"

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="Liveness: the process is up")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Readiness: the database answers and the broker is connected")
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
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not_ready", "checks": checks}, 200 if ready else 503
    )


@router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def install_request_middleware(app: FastAPI) -> None:
    @app.middleware("http")
    async def _correlate_and_measure(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        cid = set_correlation_id(request.headers.get(CORRELATION_HEADER))
        started = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        path = getattr(route, "path", "unmatched")
        HTTP_REQUESTS.labels(request.method, path, str(response.status_code)).inc()
        HTTP_LATENCY.labels(path).observe(time.perf_counter() - started)
        response.headers[CORRELATION_HEADER] = cid
        return response
