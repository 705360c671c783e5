"""Sign-in with the OpenID Connect provider: off to the provider, and back with a verified ID
token; a refusal is a readable page (403 when the person has no console role)."""

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from services.console.identity import HOME
from services.console.oidc import OidcRefused, OidcSignIn, ProviderUnavailable, account_of
from services.console.pages_auth import safe_next
from services.console.web import render

router = APIRouter()


def _provider(request: Request) -> OidcSignIn | None:
    provider: OidcSignIn | None = request.app.state.oidc
    return provider


def _unavailable(request: Request) -> Response:
    return render(
        request,
        "oidc_refused.html",
        503,
        reason="oidc_unavailable",
        code="provider_unavailable",
        detail="",
    )


@router.get("/signin/oidc")
async def sign_in_with_provider(request: Request, next: str | None = None) -> Response:
    provider = _provider(request)
    if provider is None:
        return render(request, "error.html", 404, message_key="not_found")
    request.session["oidc_next"] = safe_next(next) or ""
    try:
        return await provider.start(request)
    except ProviderUnavailable:
        return _unavailable(request)
    except OidcRefused as refused:
        return _refused(request, refused)


@router.get("/signin/oidc/callback")
async def provider_callback(request: Request) -> Response:
    provider = _provider(request)
    if provider is None:
        return render(request, "error.html", 404, message_key="not_found")
    try:
        identity = await provider.finish(request)
    except ProviderUnavailable:
        return _unavailable(request)
    except OidcRefused as refused:
        return _refused(request, refused)
    held_next = request.session.get("oidc_next")
    next_page = safe_next(held_next if isinstance(held_next, str) else None)
    request.session.clear()  # a fresh session (and CSRF token) for the signed-in person
    request.session["oidc"] = identity
    account = account_of(request.app.state.settings, identity)
    assert account is not None  # `finish` refuses an identity without a console role
    return RedirectResponse(next_page or HOME[account.role], status_code=303)


def _refused(request: Request, refused: OidcRefused) -> Response:
    reason = "oidc_no_role" if refused.code == "no_console_role" else "oidc_refused"
    return render(
        request,
        "oidc_refused.html",
        refused.status,
        reason=reason,
        code=refused.code,
        detail=refused.detail,
    )
