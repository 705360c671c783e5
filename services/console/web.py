"""Rendering: templates with the account's language, its CSRF token and the last flash."""

from collections.abc import Awaitable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from services.console.backend import ServiceError
from services.console.identity import csrf_token
from services.console.texts import translate

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")

# The pages each role has in its navigation (path, text key).
NAV: dict[str, list[tuple[str, str]]] = {
    "owner": [("/queue", "my_queue"), ("/escalations", "escalations")],
    "department": [("/tasks", "tasks")],
    "supervisor": [
        ("/board", "board"),
        ("/escalations", "escalations"),
        ("/incidents", "incidents"),
        ("/problems", "problems"),
        ("/search", "search"),
        ("/kpis", "kpis"),
    ],
    "auditor": [("/audits", "audits")],
    "analyst": [("/kpis", "kpis"), ("/incidents", "incidents"), ("/problems", "problems")],
    "admin": [
        ("/accounts", "accounts"),
        ("/board", "board"),
        ("/escalations", "escalations"),
        ("/incidents", "incidents"),
        ("/problems", "problems"),
        ("/search", "search"),
        ("/kpis", "kpis"),
    ],
}


def language_of(request: Request) -> str:
    account = getattr(request.state, "account", None)
    return account.language if account is not None else "en"


def flash(request: Request, kind: str, text: str) -> None:
    """A message shown once on the next page (after the redirect that follows a form)."""
    request.session["flash"] = {"kind": kind, "text": text}


async def flash_outcome(request: Request, call: Awaitable[Any]) -> bool:
    """Run one call to a service; flash its refusal (a 4xx, in its own words) or a tick.

    An infrastructure fault (5xx) is not a refusal: it propagates to the error page."""
    try:
        await call
    except ServiceError as exc:
        if exc.status >= 500:
            raise
        flash(request, "error", f"{exc.code}: {exc.message}")
        return False
    flash(request, "success", "✓")
    return True


def when(value: str | None) -> str:
    """An ISO time from a service as `YYYY-MM-DD HH:MM UTC`."""
    if not value:
        return "—"
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    return parsed.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def rate(value: float | None) -> str:
    """A measured rate (complaints a day) for people: two decimals, or a dash when not measured."""
    return "—" if value is None else f"{value:.2f}"


def plain(value: Any) -> str:
    """A service's structured figure as a person reads it: `key: value; …`, lists joined,
    numbers rounded, times as `when` shows them."""
    if isinstance(value, dict):
        return "; ".join(f"{k.replace('_', ' ')}: {plain(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(plain(v) for v in value)
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".")
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] == "T":
        return when(value)
    return "—" if value is None else str(value)


templates.env.filters["when"] = when
templates.env.filters["plain"] = plain
templates.env.filters["rate"] = rate


def render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    language = language_of(request)
    account = getattr(request.state, "account", None)
    return templates.TemplateResponse(
        request,
        name,
        {
            "account": account,
            "nav": NAV.get(account.role, []) if account is not None else [],
            "language": language,
            "t": lambda key: translate(key, language),
            "csrf": csrf_token(request),
            "flash": request.session.pop("flash", None),
            **context,
        },
        status_code=status,
    )


def back(path: str) -> RedirectResponse:
    """After a form: see the page again (303, so a reload does not post twice)."""
    return RedirectResponse(path, status_code=303)
