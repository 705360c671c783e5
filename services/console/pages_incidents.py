"""Incidents: the list, one incident with its IS / IS NOT and its complaints, and the supervisor's
decisions on it (confirm, dismiss, merge into another, open a problem)."""

import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from services.console.accounts import Account
from services.console.backend import ServiceError
from services.console.identity import Form, role
from services.console.web import back, flash, flash_outcome, render

router = APIRouter()
Supervisor = Annotated[Account, Depends(role("supervisor", "admin"))]
IncidentReader = Annotated[Account, Depends(role("supervisor", "admin", "analyst"))]
STATUSES = ("open", "confirmed", "dismissed", "merged", "resolved")


@router.get("/incidents")
async def incidents(request: Request, who: IncidentReader, status: str | None = None) -> Response:
    status = status if status in STATUSES else None
    listed = await request.app.state.backend.get(
        who, "escalation", "/v1/incidents", status=status, limit=100
    )
    return render(request, "incidents.html", incidents=listed, selected=status or "")


@router.get("/incidents/{incident_id}")
async def incident_page(request: Request, incident_id: str, who: IncidentReader) -> Response:
    backend = request.app.state.backend
    incident = await backend.get(who, "escalation", f"/v1/incidents/{incident_id}")
    others: list[dict[str, Any]] = []
    if who.role != "analyst" and incident["status"] in ("open", "confirmed"):
        listed = await backend.get(who, "escalation", "/v1/incidents", limit=100)
        others = [
            i for i in listed if i["id"] != incident_id and i["status"] in ("open", "confirmed")
        ]
    return render(
        request,
        "incident.html",
        incident=incident,
        others=others,
        may_decide=who.role in ("supervisor", "admin"),
    )


async def _decide(
    request: Request, who: Account, incident_id: str, path: str, body: Any
) -> Response:
    backend = request.app.state.backend
    await flash_outcome(request, backend.post(who, "escalation", path, body))
    return back(f"/incidents/{incident_id}")


@router.post("/incidents/{incident_id}/confirm")
async def confirm(request: Request, incident_id: str, who: Supervisor, _: Form) -> Response:
    return await _decide(request, who, incident_id, f"/v1/incidents/{incident_id}/confirm", None)


@router.post("/incidents/{incident_id}/dismiss")
async def dismiss(request: Request, incident_id: str, who: Supervisor, _: Form) -> Response:
    return await _decide(request, who, incident_id, f"/v1/incidents/{incident_id}/dismiss", None)


@router.post("/incidents/{incident_id}/merge")
async def merge(request: Request, incident_id: str, who: Supervisor, form: Form) -> Response:
    body = {"into": form.get("into", "").strip()}
    return await _decide(request, who, incident_id, f"/v1/incidents/{incident_id}/merge", body)


@router.post("/incidents/{incident_id}/problem")
async def open_problem(request: Request, incident_id: str, who: Supervisor, form: Form) -> Response:
    """Open a problem for the incident's root cause; on success, its page."""
    body = {"title": form.get("title", "").strip(), "incident_id": incident_id}
    try:
        problem = await request.app.state.backend.post(
            who, "escalation", "/v1/problems", body, secrets.token_hex(16)
        )
    except ServiceError as exc:
        if exc.status >= 500:
            raise
        flash(request, "error", f"{exc.code}: {exc.message}")
        return back(f"/incidents/{incident_id}")
    flash(request, "success", "✓")
    return back(f"/problems/{problem['id']}")
