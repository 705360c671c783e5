"""The auditor's audits: the customer is called after closure; the finding is recorded here."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from services.console.accounts import Account
from services.console.identity import Form, role
from services.console.web import back, flash_outcome, render

router = APIRouter()
Auditor = Annotated[Account, Depends(role("auditor", "admin"))]


@router.get("/audits")
async def audits(request: Request, who: Auditor) -> Response:
    listed = await request.app.state.backend.get(who, "confirmation", "/v1/audits")
    return render(request, "audits.html", audits=listed)


@router.post("/audits/{audit_id}/result")
async def record(request: Request, audit_id: str, who: Auditor, form: Form) -> Response:
    body = {"outcome": form.get("outcome", ""), "notes": form.get("notes") or None}
    path = f"/v1/audits/{audit_id}/result"
    await flash_outcome(request, request.app.state.backend.post(who, "confirmation", path, body))
    return back("/audits")
