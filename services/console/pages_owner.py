"""The owner's queue and case page; each action is a form posted to the owning service."""

import secrets
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from services.console.accounts import Account
from services.console.backend import ServiceError
from services.console.identity import Form, role
from services.console.web import back, flash_outcome, render

router = APIRouter()
Owner = Annotated[Account, Depends(role("owner"))]
CaseReader = Annotated[Account, Depends(role("owner", "supervisor", "admin", "department"))]
NoteWriter = Annotated[Account, Depends(role("owner", "supervisor", "admin"))]
# A department reads the case it was asked about, not the customer's messages.
NO_MESSAGES: dict[str, list[Any]] = {"requests": [], "outbound": [], "inbound": []}

WAITING_ON = {
    "waiting_on_department": "waiting_department",
    "resolution_proposed": "waiting_customer",
}


def sla_state(case: dict[str, Any], now: datetime) -> str:
    """breached, warned or ok, from the times ownership gives (its calendars decide them)."""
    if case.get("status") == "closed":
        return "ok"
    if case.get("breached"):
        return "breached"
    warning = case.get("warning_at")
    if warning and datetime.fromisoformat(warning.replace("Z", "+00:00")) <= now:
        return "warned"
    return "ok"


@router.get("/queue")
async def queue(
    request: Request, who: Owner, cursor: str | None = None, rows: bool = False
) -> Response:
    backend = request.app.state.backend
    page = await backend.get(who, "ownership", "/v1/cases", open="true", limit=50, cursor=cursor)
    now = datetime.now(UTC)
    cases = [
        {
            **c,
            "sla": sla_state(c, now),
            "waiting_on": WAITING_ON.get(c["status"], "waiting_owner"),
        }
        for c in page["items"]
    ]
    template = "queue_rows.html" if rows else "queue.html"  # rows: the table's refresh
    return render(request, template, cases=cases, next_cursor=page.get("next_cursor"))


@router.get("/cases/{case_id}")
async def case_page(request: Request, case_id: str, who: CaseReader) -> Response:
    backend = request.app.state.backend
    case = await backend.get(who, "ownership", f"/v1/cases/{case_id}")
    timeline = await backend.get(who, "ownership", f"/v1/cases/{case_id}/timeline")
    tasks = await backend.get(who, "ownership", f"/v1/cases/{case_id}/tasks")
    confirmations = await _messages(request, who, case_id)
    answerable = [r for r in confirmations["requests"] if r["status"] in ("pending", "unclear")]
    return render(
        request,
        "case.html",
        case=case,
        sla=sla_state(case, datetime.now(UTC)),
        timeline=timeline["entries"],
        tasks=tasks["items"],
        confirmations=confirmations,
        request_to_attest=answerable[-1] if answerable else None,
        is_owner=who.role == "owner" and who.subject == case["owner_id"],
        is_supervisor=who.role in ("supervisor", "admin"),
        notes=[e for e in timeline["entries"] if e["kind"] == "note"],
    )


async def _messages(request: Request, who: Account, case_id: str) -> dict[str, Any]:
    """The customer's messages in and out, for those who may read them: the case's owner (a
    teammate reads the timeline, not the customer's words), supervisors and admins."""
    if who.role == "department":
        return NO_MESSAGES
    try:
        found: dict[str, Any] = await request.app.state.backend.get(
            who, "confirmation", "/v1/confirmations", complaint_id=case_id
        )
    except ServiceError as exc:
        if exc.status != 403:
            raise
        return NO_MESSAGES
    return found


async def _act(
    request: Request, who: Account, case_id: str, service: str, path: str, body: dict[str, Any]
) -> Response:
    """Post one action; success or the service's refusal shows on the case page."""
    backend = request.app.state.backend
    await flash_outcome(request, backend.post(who, service, path, body, secrets.token_hex(16)))
    return back(f"/cases/{case_id}")


@router.post("/cases/{case_id}/resolution")
async def propose(request: Request, case_id: str, who: Owner, form: Form) -> Response:
    body = {"outcome": form.get("outcome", ""), "summary": form.get("summary", "")}
    return await _act(request, who, case_id, "ownership", f"/v1/cases/{case_id}/resolution", body)


@router.post("/cases/{case_id}/reask")
async def reask(request: Request, case_id: str, who: Owner, form: Form) -> Response:
    body = {"note": form["note"]} if form.get("note") else {}
    path = f"/v1/cases/{case_id}/resolution/reask"
    return await _act(request, who, case_id, "ownership", path, body)


@router.post("/cases/{case_id}/withdraw")
async def withdraw(request: Request, case_id: str, who: Owner, form: Form) -> Response:
    path = f"/v1/cases/{case_id}/resolution/withdraw"
    return await _act(request, who, case_id, "ownership", path, {"reason": form.get("reason", "")})


@router.post("/cases/{case_id}/tasks")
async def ask_department(request: Request, case_id: str, who: Owner, form: Form) -> Response:
    body = {k: form.get(k, "") for k in ("department", "type", "description")}
    return await _act(request, who, case_id, "ownership", f"/v1/cases/{case_id}/tasks", body)


@router.post("/cases/{case_id}/notes")
async def add_note(request: Request, case_id: str, who: NoteWriter, form: Form) -> Response:
    body = {"text": form.get("text", "")}
    return await _act(request, who, case_id, "ownership", f"/v1/cases/{case_id}/notes", body)


@router.post("/cases/{case_id}/message")
async def write_customer(request: Request, case_id: str, who: Owner, form: Form) -> Response:
    body = {k: form[k] for k in ("template", "text") if form.get(k, "").strip()}
    return await _act(request, who, case_id, "ownership", f"/v1/cases/{case_id}/messages", body)


@router.post("/cases/{case_id}/handover")
async def hand_over(request: Request, case_id: str, who: Owner, form: Form) -> Response:
    body = {"to_owner_id": form.get("to_owner_id", ""), "reason": form.get("reason", "")}
    path = f"/v1/cases/{case_id}/reassign"
    if not await flash_outcome(
        request, request.app.state.backend.post(who, "ownership", path, body)
    ):
        return back(f"/cases/{case_id}")
    return back("/queue")  # no longer in this owner's queue


@router.post("/cases/{case_id}/attest/{request_id}")
async def attest(
    request: Request, case_id: str, request_id: str, who: Owner, form: Form
) -> Response:
    body = {
        k: form.get(k, "") for k in ("answer", "evidence_type", "evidence_ref", "customer_words")
    }
    path = f"/v1/confirmations/{request_id}/attestations"
    return await _act(request, who, case_id, "confirmation", path, body)
