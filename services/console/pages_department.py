"""The department's task list: acknowledge, complete with a note."""

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from services.console.accounts import Account
from services.console.identity import Form, role
from services.console.web import back, flash_outcome, render

router = APIRouter()
Department = Annotated[Account, Depends(role("department"))]


@router.get("/tasks")
async def tasks(request: Request, who: Department) -> Response:
    listed = await request.app.state.backend.get(who, "ownership", "/v1/tasks", status="open")
    now = datetime.now(UTC).isoformat()
    items = [{**t, "late": t["due_at"] < now} for t in listed["items"]]
    return render(request, "tasks.html", tasks=items)


async def _task_action(
    request: Request, who: Account, task_id: str, action: str, body: dict[str, str] | None
) -> Response:
    path = f"/v1/tasks/{task_id}/{action}"
    await flash_outcome(request, request.app.state.backend.post(who, "ownership", path, body))
    return back("/tasks")


@router.post("/tasks/{task_id}/acknowledge")
async def acknowledge(request: Request, task_id: str, who: Department, _: Form) -> Response:
    return await _task_action(request, who, task_id, "acknowledge", None)


@router.post("/tasks/{task_id}/complete")
async def complete(request: Request, task_id: str, who: Department, form: Form) -> Response:
    body = {"note": form["note"]} if form.get("note") else {}
    return await _task_action(request, who, task_id, "complete", body)
