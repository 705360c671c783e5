"""Problems: opened from an incident or by a supervisor, then analysed for their root cause."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from services.escalation.catalogue.canonical import lookup
from services.escalation.incidents import detector as det
from services.escalation.incidents.commands import load as load_incident
from services.escalation.incidents.link_reactions import bump
from services.escalation.key_hashes import digest
from services.escalation.models import actions, idempotency_keys, incident_complaints, problems
from services.escalation.problems import effect_measure
from services.escalation.problems.problem import Problem, ProblemStatus
from services.escalation.problems.schemas import AnalysisIn, ProblemCreate
from shared.errors import DomainError, NotFound
from shared.events import Envelope, ProblemEvent, new_event
from shared.idempotency import STORED_BODY, Keyed, once, request_fingerprint
from shared.service import Runtime
from shared.uow import UnitOfWork

PRODUCER = "escalation"


def problem_event(type_: str, problem: Problem, **extra: Any) -> Envelope:
    data = ProblemEvent(
        problem_id=problem.id, incident_id=problem.incident_id, title=problem.title, **extra
    )
    return new_event(type_, data, producer=PRODUCER, complaint_id=None)


async def load(uow: UnitOfWork, problem_id: str, lock: bool = False) -> Problem:
    query = select(problems).where(problems.c.id == problem_id)
    row = (await uow.conn.execute(query.with_for_update() if lock else query)).first()
    if row is None:
        raise NotFound("problem_not_found", f"No problem {problem_id}.")
    return Problem.of(row)


async def public(uow: UnitOfWork, problem: Problem) -> dict[str, Any]:
    listed = await uow.conn.execute(
        select(actions).where(actions.c.problem_id == problem.id).order_by(actions.c.created_at)
    )
    body = {k: v for k, v in problem.as_row().items() if k != "key_hash"}
    body["actions"] = [{k: v for k, v in a._mapping.items()} for a in listed]
    return body


async def open_problem(
    rt: Runtime,
    body: ProblemCreate,
    by: str,
    now: datetime,
    config: det.DetectorConfig,
    key: str | None = None,
) -> tuple[dict[str, Any], bool]:
    """Open a problem, once per Idempotency-Key; returns (problem, replayed)."""
    fp = request_fingerprint(body, by)
    return await once(
        rt.uow,
        Keyed(idempotency_keys, "problem", key, fp),
        lambda uow, _: _open(uow, body, by, now, config),
        STORED_BODY,
    )


async def _open(
    uow: UnitOfWork, body: ProblemCreate, by: str, now: datetime, config: det.DetectorConfig
) -> dict[str, Any]:
    """Open a problem; from an incident it inherits the pattern and the counts seen so far."""
    problem_id = str(uuid.uuid4())
    pattern, seeded, onset, baseline = await _pattern_of(uow, body, config)
    dims = {k: v for k, v in pattern.items() if k != "pattern"}
    row = {
        "id": problem_id,
        "incident_id": body.incident_id,
        "title": body.title,
        "status": ProblemStatus.open,
        "key_hash": digest(det.key_name(pattern["pattern"], dims)),
        "pattern": pattern,
        "analysis": None,
        "cause": None,
        "opened_by": by,
        "fixed_at": None,
        "onset_at": onset or now,
        "baseline_rate": baseline,
        "rate_before": None,
        "rate_after": None,
        "created_at": now,
        "updated_at": now,
    }
    await uow.conn.execute(problems.insert().values(**row))
    for at in seeded:
        await bump(uow.conn, problem_id, config.bucket_of(at))
    problem = Problem.of(row)
    uow.emit(problem_event("problem.opened", problem))
    return await public(uow, problem)


Pattern = tuple[dict[str, str], list[datetime], datetime | None, float | None]


async def _pattern_of(uow: UnitOfWork, body: ProblemCreate, config: det.DetectorConfig) -> Pattern:
    """The pattern the fix must reduce, the complaint times an incident already counted, and
    from an incident when the problem began and the daily rate before it (not the burst)."""
    if body.incident_id:
        incident = await load_incident(uow, body.incident_id)
        rows = await uow.conn.execute(
            select(incident_complaints.c.received_at).where(
                incident_complaints.c.incident_id == body.incident_id
            )
        )
        expected = (incident.evidence or {}).get("expected") or 0.0
        baseline = round(effect_measure.baseline_per_day(float(expected), config), 3)
        return (
            {"pattern": incident.pattern, **incident.dims},
            [at for at in rows.scalars()],
            incident.first_at,
            baseline or None,
        )
    if body.pattern:
        dims = det.pattern_key(body.pattern.pattern, body.pattern.model_dump())
        if dims is None:
            raise DomainError(
                "pattern_incomplete",
                f"A {body.pattern.pattern} pattern needs a value for each dimension.",
                422,
            )
        # Counted under the values the detector counts complaints under ("California" is "CA").
        for dim, written in dims.items():
            dims[dim] = await lookup(uow.conn, config.catalogue, dim, written)
        return {"pattern": body.pattern.pattern, **dims}, [], None, None
    raise DomainError("pattern_required", "Give an incident_id or a pattern.", 422)


async def record_analysis(
    rt: Runtime, problem_id: str, body: AnalysisIn, now: datetime
) -> dict[str, Any]:
    """The root-cause work as data; the cause must survive the IS / IS NOT test."""
    hypotheses = [
        effect_measure.Hypothesis(h.cause, h.explains_is, h.explains_is_not)
        for h in body.hypotheses
    ]
    try:
        cause = effect_measure.most_probable_cause(hypotheses, body.most_probable_cause)
    except effect_measure.AnalysisRejected as exc:
        raise DomainError("cause_not_tested", str(exc), 422) from exc
    async with rt.uow() as uow:
        problem = await load(uow, problem_id, lock=True)
        problem.refuse_if_closed()
        changes = {
            "analysis": body.model_dump(),
            "cause": cause,
            "status": problem.status_with_cause(),
            "updated_at": now,
        }
        await uow.conn.execute(
            update(problems).where(problems.c.id == problem_id).values(**changes)
        )
        problem = problem.changed(**changes)
        uow.emit(problem_event("problem.cause_identified", problem, cause=cause))
        await uow.commit()
        return await public(uow, problem)


async def get_problem(rt: Runtime, problem_id: str) -> dict[str, Any]:
    async with rt.uow() as uow:
        return await public(uow, await load(uow, problem_id))


async def list_problems(rt: Runtime, status: str | None, limit: int) -> list[dict[str, Any]]:
    async with rt.uow() as uow:
        query = select(problems).order_by(problems.c.created_at.desc()).limit(limit)
        if status:
            query = query.where(problems.c.status == status)
        listed = [Problem.of(r) for r in await uow.conn.execute(query)]
        return [await public(uow, problem) for problem in listed]
