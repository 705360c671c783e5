"""Composition root of the console: sessions, templates, the pages, and the services' client."""

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from services.console import (
    pages_admin,
    pages_analyst,
    pages_audits,
    pages_auth,
    pages_department,
    pages_incidents,
    pages_oidc,
    pages_owner,
    pages_problems,
    pages_search,
    pages_supervisor,
)
from services.console.backend import Backend, ServiceError
from services.console.identity import CsrfRefused, NotAllowed, SignInRequired
from services.console.oidc import OidcSignIn
from services.console.settings import ConsoleSettings
from services.console.web import render
from shared.db import make_engine, upgrade_database_async
from shared.logging import configure_logging

HERE = Path(__file__).parent


def create_app(settings: ConsoleSettings | None = None) -> FastAPI:
    settings = settings or ConsoleSettings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(settings.service_name, settings.log_level)
        if settings.run_migrations_on_start:
            await upgrade_database_async(HERE / "migrations", settings.db_url)
        app.state.engine = make_engine(settings.db_url)
        async with httpx.AsyncClient(timeout=settings.service_timeout_seconds) as client:
            app.state.backend = Backend(settings, client)
            try:
                yield
            finally:
                await app.state.engine.dispose()

    app = FastAPI(title="Console", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.settings = settings
    app.state.oidc = OidcSignIn(settings) if settings.oidc_enabled else None
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.session_secret,
        session_cookie="console_session",
        max_age=settings.session_max_age_seconds,
        same_site="lax",
        https_only=settings.secure_cookies,
    )
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    pages = (pages_auth, pages_owner, pages_department, pages_supervisor, pages_analyst)
    work = (pages_incidents, pages_problems, pages_search)
    for module in (*pages, *work, pages_oidc, pages_audits, pages_admin):
        app.include_router(module.router)
    _install_handlers(app)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> PlainTextResponse:
        return PlainTextResponse("ok")

    return app


def _install_handlers(app: FastAPI) -> None:
    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, _: SignInRequired) -> Response:
        if request.method == "GET":
            return RedirectResponse(f"/signin?next={request.url.path}", status_code=303)
        return render(request, "error.html", 401, message_key="sign_in")

    @app.exception_handler(NotAllowed)
    async def _not_allowed(request: Request, _: NotAllowed) -> Response:
        return render(request, "error.html", 403, message_key="not_allowed")

    @app.exception_handler(CsrfRefused)
    async def _csrf(request: Request, _: CsrfRefused) -> Response:
        return render(request, "error.html", 403, message_key="csrf_refused")

    @app.exception_handler(ServiceError)
    async def _service(request: Request, exc: ServiceError) -> Response:
        status = exc.status if exc.status in (400, 403, 404, 409, 422) else 502
        if exc.status == 503:
            status = 503
        return render(request, "error.html", status, service_error=exc)
