"""The supervisor's SLA board (teams x owners), the escalations sent, the priority override and
the links and merges of cases."""

from collections import defaultdict
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from services.console.accounts import Account
from services.console.identity import Form, role
from services.console.pages_owner import sla_state
from services.console.web import back, flash_outcome, render

router = APIRouter()
Supervisor = Annotated[Account, Depends(role("supervisor", "admin"))]
EscalationReader = Annotated[Account, Depends(role("supervisor", "admin", "owner"))]
BOARD_PAGES = 20  # at most 10,000 open cases on the board


async def _open_cases(request: Request, who: Account) -> list[dict[str, Any]]:
    backend = request.app.state.backend
    found: list[dict[str, Any]] = []
    cursor = None
    for _ in range(BOARD_PAGES):
        page = await backend.get(
            who, "ownership", "/v1/cases", open="true", limit=500, cursor=cursor
        )
        found += page["items"]
        cursor = page.get("next_cursor")
        if not cursor:
            break
    return found


@router.get("/board")
async def board(request: Request, who: Supervisor) -> Response:
    now = datetime.now(UTC)
    today = now.date().isoformat()
    counts: dict[tuple[str, str], dict[str, int]] = defaultdict(
        lambda: {"open": 0, "due_today": 0, "warned": 0, "breached": 0}
    )
    for case in await _open_cases(request, who):
        row = counts[(case["team"], case["owner_id"])]
        row["open"] += 1
        if (case.get("due_at") or "").startswith(today):
            row["due_today"] += 1
        state = sla_state(case, now)
        if state != "ok":
            row[state] += 1
    rows = [{"team": t, "owner": o, **c} for (t, o), c in sorted(counts.items())]
    return render(request, "board.html", rows=rows)


@router.get("/escalations")
async def escalations(
    request: Request, who: EscalationReader, case_id: str | None = None, cursor: str | None = None
) -> Response:
    """What the ladder sent, newest first; an owner sees the escalations sent to them."""
    page = await request.app.state.backend.get(
        who, "escalation", "/v1/escalations", case_id=case_id, cursor=cursor, limit=100
    )
    return render(
        request,
        "escalations.html",
        escalations=page["items"],
        next_cursor=page.get("next_cursor"),
        case_id=case_id or "",
    )


@router.post("/cases/{case_id}/merge")
async def merge_case(request: Request, case_id: str, who: Supervisor, form: Form) -> Response:
    """Fold this case into another of the same customer's (it closes with that one)."""
    body = {"into": form.get("into", "").strip(), "reason": form.get("reason", "")}
    backend = request.app.state.backend
    await flash_outcome(request, backend.post(who, "ownership", f"/v1/cases/{case_id}/merge", body))
    return back(f"/cases/{case_id}")


@router.post("/cases/{case_id}/link")
async def link_case(request: Request, case_id: str, who: Supervisor, form: Form) -> Response:
    body = {"case_id": form.get("case_id", "").strip(), "reason": form.get("reason", "")}
    backend = request.app.state.backend
    await flash_outcome(request, backend.post(who, "ownership", f"/v1/cases/{case_id}/links", body))
    return back(f"/cases/{case_id}")


@router.post("/cases/{case_id}/priority")
async def override_priority(
    request: Request, case_id: str, who: Supervisor, form: Form
) -> Response:
    body = {"priority": form.get("priority", ""), "reason": form.get("reason", "")}
    path = f"/v1/priorities/{case_id}"
    backend = request.app.state.backend
    await flash_outcome(request, backend.call(who, "escalation", "PUT", path, json=body))
    return back(f"/cases/{case_id}")
