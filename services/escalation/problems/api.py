"""Problem HTTP routes: open, analyse, act, verify the effect."""

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from services.escalation.ladder import EscalationConfig
from services.escalation.problems import actions as problems_actions
from services.escalation.problems import commands as problems_commands
from services.escalation.problems import verification
from services.escalation.problems.schemas import (
    ActionCreate,
    ActionDone,
    AnalysisIn,
    ProblemCreate,
    ProblemPublic,
    VerifyIn,
)
from shared.auth import Principal, require
from shared.idempotency import IdempotencyKey, mark_replayed
from shared.openapi import error_responses
from shared.service import RuntimeDep

router = APIRouter(prefix="/v1/problems", tags=["problems"])

Reader = Annotated[Principal, Depends(require("owner", "supervisor", "admin", "analyst"))]
Supervisor = Annotated[Principal, Depends(require("supervisor", "admin"))]
Actor = Annotated[Principal, Depends(require("owner", "supervisor", "admin"))]
Id = Annotated[str, Path(min_length=1, max_length=36)]
Status = Annotated[
    str | None, Query(pattern="^(open|cause_identified|verifying|effect_not_shown|closed)$")
]


def _config(request: Request) -> EscalationConfig:
    config: EscalationConfig = request.app.state.escalation_config
    return config


Config = Annotated[EscalationConfig, Depends(_config)]


def _now() -> datetime:
    return datetime.now(UTC)


def _answer(response: Response, answer: tuple[dict[str, Any], bool]) -> dict[str, Any]:
    body, replayed = answer
    mark_replayed(response, replayed)
    return body


@router.post("", response_model=ProblemPublic, status_code=201)
async def open_problem(
    body: ProblemCreate,
    rt: RuntimeDep,
    who: Supervisor,
    config: Config,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """Open a problem from an incident or for a pattern."""
    opened = await problems_commands.open_problem(
        rt, body, who.subject, _now(), config.detector, idempotency_key
    )
    return _answer(response, opened)


@router.get("", response_model=list[ProblemPublic])
async def list_problems(
    rt: RuntimeDep,
    _: Reader,
    status: Status = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[dict[str, Any]]:
    """Problems, newest first, optionally of one status."""
    return await problems_commands.list_problems(rt, status, limit)


@router.get("/{problem_id}", response_model=ProblemPublic)
async def read_problem(problem_id: Id, rt: RuntimeDep, _: Reader) -> dict[str, Any]:
    """One problem with its analysis, actions and measured effect."""
    return await problems_commands.get_problem(rt, problem_id)


@router.post("/{problem_id}/analysis", response_model=ProblemPublic, responses=error_responses(409))
async def record_analysis(
    problem_id: Id, body: AnalysisIn, rt: RuntimeDep, _: Supervisor
) -> dict[str, Any]:
    """Record the root-cause work; the cause must explain the IS and the IS NOT."""
    return await problems_commands.record_analysis(rt, problem_id, body, _now())


@router.post(
    "/{problem_id}/actions",
    response_model=ProblemPublic,
    status_code=201,
    responses=error_responses(409),
)
async def add_action(
    problem_id: Id,
    body: ActionCreate,
    rt: RuntimeDep,
    who: Supervisor,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """Add a corrective or preventive action with an owner and a due date."""
    added = await problems_actions.add_action(
        rt, problem_id, body, _now(), who.subject, idempotency_key
    )
    return _answer(response, added)


@router.post(
    "/{problem_id}/actions/{action_id}/complete",
    response_model=ProblemPublic,
    responses=error_responses(409),
)
async def complete_action(
    problem_id: Id, action_id: Id, body: ActionDone, rt: RuntimeDep, who: Actor, config: Config
) -> dict[str, Any]:
    """Mark an action done (its owner or a supervisor); `completed_at` may be earlier than now
    but not in the future (422 `completed_at_in_future`) nor before the action was created
    (422 `completed_at_before_action`)."""
    return await problems_actions.complete_action(
        rt, problem_id, action_id, body.completed_at, who, _now(), config
    )


@router.post("/{problem_id}/verify", response_model=ProblemPublic, responses=error_responses(409))
async def verify(
    problem_id: Id, body: VerifyIn, rt: RuntimeDep, _: Supervisor, config: Config
) -> dict[str, Any]:
    """Measure the effect of the fix now (or as of an earlier time) instead of waiting: 422
    `as_of_in_future` for a later time, 409 `root_cause_missing` without a recorded cause,
    409 `verification_period_not_over` before `min_after_days` have passed since the fix."""
    return await verification.verify_now(rt, problem_id, body.as_of, _now(), config)
