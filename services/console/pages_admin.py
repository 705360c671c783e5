"""The admin's accounts page: create an account or reset it, deactivate or reactivate it."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from services.console import accounts
from services.console.accounts import Account
from services.console.identity import Form, role
from services.console.models import LANGUAGES, ROLES
from services.console.web import back, flash, render
from shared.errors import DomainError

router = APIRouter()
Admin = Annotated[Account, Depends(role("admin"))]


@router.get("/accounts")
async def account_list(request: Request, who: Admin) -> Response:
    listed = await accounts.list_all(request.app.state.engine)
    return render(request, "accounts.html", accounts=listed, roles=ROLES, languages=LANGUAGES)


@router.post("/accounts")
async def save(request: Request, who: Admin, form: Form) -> Response:
    username = form.get("username", "")
    try:
        if not username:
            raise DomainError("missing_username", "An account needs a username.", 422)
        await accounts.upsert(
            request.app.state.engine,
            username,
            form.get("password", ""),
            form.get("role", ""),
            form.get("subject", ""),
            form.get("display_name", ""),
            form.get("language", "en"),
        )
    except DomainError as exc:
        flash(request, "error", f"{exc.code}: {exc.message}")
    else:
        flash(request, "success", f"✓ {username}")
    return back("/accounts")


@router.post("/accounts/{username}/active")
async def activate(request: Request, username: str, who: Admin, form: Form) -> Response:
    active = form.get("active") == "true"
    if username == who.username and not active:
        flash(request, "error", "An admin cannot deactivate their own account.")
        return back("/accounts")
    try:
        await accounts.set_active(request.app.state.engine, username, active)
    except DomainError as exc:
        flash(request, "error", f"{exc.code}: {exc.message}")
    return back("/accounts")
