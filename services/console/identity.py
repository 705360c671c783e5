"""Who is signed in, what they may open, and the CSRF token of every form."""

import secrets
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request

from services.console import accounts, oidc
from services.console.accounts import Account

HOME = {
    "owner": "/queue",
    "department": "/tasks",
    "supervisor": "/board",
    "auditor": "/audits",
    "analyst": "/kpis",
    "admin": "/board",
}


class SignInRequired(Exception):
    """No one (or no longer an active account) is signed in."""


class NotAllowed(Exception):
    """The signed-in account's role may not open this page or do this."""


def csrf_token(request: Request) -> str:
    """The session's CSRF token, made on first use; every form carries it."""
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


async def signed_in(request: Request) -> Account:
    settings = request.app.state.settings
    if "oidc" in request.session:
        held = oidc.account_of(settings, request.session["oidc"])
        if held is None:  # the provider or the role map changed since
            request.session.clear()
            raise SignInRequired
        request.state.account = held
        return held
    username = request.session.get("user")
    if not isinstance(username, str) or not settings.local_accounts:
        raise SignInRequired
    account = await accounts.get(request.app.state.engine, username)
    if account is None or not account.active:
        request.session.clear()
        raise SignInRequired
    request.state.account = account
    return account


class CsrfRefused(Exception):
    """A form posted without the session's CSRF token."""


async def form(request: Request) -> dict[str, str]:
    """The posted form, once its CSRF token matches the session's; text fields only."""
    data = await request.form()
    sent = data.get("csrf_token")
    expected = request.session.get("csrf")
    if not isinstance(sent, str) or not isinstance(expected, str):
        raise CsrfRefused
    if not secrets.compare_digest(sent, expected):
        raise CsrfRefused
    return {k: v.strip() for k, v in data.items() if isinstance(v, str) and k != "csrf_token"}


Form = Annotated[dict[str, str], Depends(form)]


def role(*roles: str) -> Callable[[Account], Awaitable[Account]]:
    """A dependency admitting the signed-in account only in one of these roles."""

    async def _check(account: Annotated[Account, Depends(signed_in)]) -> Account:
        if account.role not in roles:
            raise NotAllowed
        return account

    return _check
