"""Sign-in with a local account, sign-out, and each role's home page."""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from services.console import accounts
from services.console.identity import HOME, Form, signed_in
from services.console.web import back, render

router = APIRouter()


def safe_next(target: str | None) -> str | None:
    """Only a path of this console: never another site (`//host`, `/\\host`, a scheme)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return None
    return target


@router.get("/")
async def home(request: Request) -> Response:
    account = await signed_in(request)
    return back(HOME[account.role])


@router.get("/signin")
async def sign_in_page(request: Request, next: str | None = None) -> Response:
    return render(request, "signin.html", next=safe_next(next) or "", **_ways(request))


def _ways(request: Request) -> dict[str, Any]:
    """The ways to sign in this console offers: local accounts, the OpenID Connect provider."""
    settings = request.app.state.settings
    return {
        "local_accounts": settings.local_accounts,
        "provider_name": settings.oidc_provider_name if settings.oidc_enabled else None,
    }


@router.post("/signin")
async def sign_in(request: Request, form: Form) -> Response:
    if not request.app.state.settings.local_accounts:
        return render(request, "error.html", 403, message_key="local_accounts_off")
    account = await accounts.authenticate(
        request.app.state.engine, form.get("username", ""), form.get("password", "")
    )
    if account is None:
        return render(
            request,
            "signin.html",
            401,
            error="bad_credentials",
            username=form.get("username", ""),
            next=safe_next(form.get("next")) or "",
            **_ways(request),
        )
    request.session.clear()  # a fresh session (and CSRF token) for the signed-in person
    request.session["user"] = account.username
    return RedirectResponse(safe_next(form.get("next")) or HOME[account.role], status_code=303)


@router.post("/signout")
async def sign_out(request: Request, _: Form) -> Response:
    request.session.clear()
    return back("/signin")
