"""Problems: the root-cause work behind incidents. The list; one problem with its analysis, its
actions and the measured effect of the fix; the supervisor records the analysis, adds actions,
marks them done and asks for the effect to be measured."""

import secrets
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from services.console.accounts import Account
from services.console.identity import Form, role
from services.console.web import back, flash, flash_outcome, render

router = APIRouter()
Supervisor = Annotated[Account, Depends(role("supervisor", "admin"))]
ProblemReader = Annotated[Account, Depends(role("supervisor", "admin", "analyst", "owner"))]
STATUSES = ("open", "cause_identified", "verifying", "effect_not_shown", "closed")
HYPOTHESIS_ROWS = 3


@router.get("/problems")
async def problems(request: Request, who: ProblemReader, status: str | None = None) -> Response:
    status = status if status in STATUSES else None
    listed = await request.app.state.backend.get(
        who, "escalation", "/v1/problems", status=status, limit=100
    )
    return render(request, "problems.html", problems=listed, selected=status or "")


@router.get("/problems/{problem_id}")
async def problem_page(request: Request, problem_id: str, who: ProblemReader) -> Response:
    problem = await request.app.state.backend.get(who, "escalation", f"/v1/problems/{problem_id}")
    return render(
        request,
        "problem.html",
        problem=problem,
        rows=range(HYPOTHESIS_ROWS),
        may_act=who.role in ("supervisor", "admin"),
    )


def analysis_body(form: dict[str, str]) -> dict[str, Any]:
    """The analysis form as the escalation service takes it: the chosen row is the most
    probable cause; the service refuses one that does not explain both the IS and the IS NOT."""
    hypotheses = [
        {
            "cause": form.get(f"cause_{n}", "").strip(),
            "explains_is": form.get(f"explains_is_{n}") == "on",
            "explains_is_not": form.get(f"explains_is_not_{n}") == "on",
        }
        for n in range(HYPOTHESIS_ROWS)
    ]
    chosen = form.get("chosen", "")
    chosen_cause = next(
        (h["cause"] for n, h in enumerate(hypotheses) if str(n) == chosen and h["cause"]), ""
    )
    return {
        "cause_categories": [c.strip() for c in form.get("categories", "").split(",") if c.strip()],
        "why_chain": [w.strip() for w in form.get("why_chain", "").splitlines() if w.strip()],
        "hypotheses": [h for h in hypotheses if h["cause"]],
        "most_probable_cause": chosen_cause,
    }


def _utc(value: str) -> str | None:
    """A `datetime-local` field, read as UTC (the form says so); None when not a time."""
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC)
    return parsed.replace(tzinfo=None).isoformat() + "Z"


async def _act(request: Request, who: Account, problem_id: str, path: str, body: Any) -> Response:
    backend = request.app.state.backend
    await flash_outcome(request, backend.post(who, "escalation", path, body, secrets.token_hex(16)))
    return back(f"/problems/{problem_id}")


@router.post("/problems/{problem_id}/analysis")
async def record_analysis(
    request: Request, problem_id: str, who: Supervisor, form: Form
) -> Response:
    path = f"/v1/problems/{problem_id}/analysis"
    return await _act(request, who, problem_id, path, analysis_body(dict(form)))


@router.post("/problems/{problem_id}/actions")
async def add_action(request: Request, problem_id: str, who: Supervisor, form: Form) -> Response:
    due = _utc(form.get("due_at", ""))
    if due is None:
        flash(request, "error", "due_at: give a date and time")
        return back(f"/problems/{problem_id}")
    body = {
        "kind": form.get("kind", ""),
        "description": form.get("description", ""),
        "owner_id": form.get("owner_id", "").strip(),
        "due_at": due,
    }
    return await _act(request, who, problem_id, f"/v1/problems/{problem_id}/actions", body)


@router.post("/problems/{problem_id}/actions/{action_id}/complete")
async def complete_action(
    request: Request, problem_id: str, action_id: str, who: Supervisor, form: Form
) -> Response:
    body: dict[str, Any] = {}
    if form.get("completed_at", "").strip():
        body["completed_at"] = _utc(form["completed_at"]) or form["completed_at"]
    path = f"/v1/problems/{problem_id}/actions/{action_id}/complete"
    return await _act(request, who, problem_id, path, body)


@router.post("/problems/{problem_id}/verify")
async def verify(request: Request, problem_id: str, who: Supervisor, _: Form) -> Response:
    return await _act(request, who, problem_id, f"/v1/problems/{problem_id}/verify", {})
