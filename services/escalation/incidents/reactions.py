"""Incident detection on every received complaint, with state kept in the database."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from services.escalation import domain
from services.escalation.catalogue.canonical import canonical
from services.escalation.incidents import detector as det
from services.escalation.incidents.evidence import Evidence, assess
from services.escalation.incidents.link_reactions import count_for_problems, link
from services.escalation.incidents.sibling_keys import siblings as sibling_values
from services.escalation.incidents.sibling_keys import state_of as _state
from services.escalation.incidents.specification import specify
from services.escalation.key_hashes import digest
from services.escalation.models import (
    detector_meta,
    incidents,
    pattern_stats,
    recent_complaints,
)
from shared.events import (
    ComplaintReceived,
    Envelope,
    IncidentDetected,
    new_event,
)
from shared.statements import insert
from shared.uow import UnitOfWork

PRODUCER = "escalation"
ACTIVE = ("open", "confirmed")


async def _started(conn: AsyncConnection, bucket: int) -> int:
    row = (await conn.execute(select(detector_meta).where(detector_meta.c.name == "start"))).first()
    if row is not None:
        return int(row.value)
    await conn.execute(
        insert(conn, detector_meta).values(name="start", value=bucket).on_conflict_do_nothing()
    )
    return bucket


async def detect(
    uow: UnitOfWork,
    envelope: Envelope,
    data: ComplaintReceived,
    config: det.DetectorConfig,
    rules: domain.RuleBook,
    now: datetime,
) -> None:
    """Count the complaint per pattern; link it to an open incident or raise a new one."""
    conn, complaint_id = uow.conn, str(envelope.complaint_id)
    raw = {"product": data.product, "category": data.category, "region": data.region}
    values = await canonical(conn, raw, now, config.catalogue)
    bucket = config.bucket_of(data.received_at)
    started = await _started(conn, bucket)
    await conn.execute(
        recent_complaints.insert().values(
            complaint_id=complaint_id,
            bucket=bucket,
            received_at=data.received_at,
            **values,
            **{f"{dim}_raw": (text or None) and text[:255] for dim, text in raw.items()},
        )
    )
    await conn.execute(
        delete(recent_complaints).where(
            recent_complaints.c.bucket <= bucket - config.window_buckets
        )
    )
    keyed: list[tuple[str, dict[str, str], str, det.KeyState, str | None]] = []
    for pattern in config.patterns:
        dims = det.pattern_key(pattern, values)
        if dims is None:
            continue
        key_hash = digest(det.key_name(pattern, dims))
        query = select(pattern_stats).where(pattern_stats.c.key_hash == key_hash)
        row = (await conn.execute(query.with_for_update())).first()
        state = _state(row) if row else det.fresh(bucket, started, config)
        state = det.observe(state, bucket, config)
        stored = {
            "bucket": state.bucket,
            "counts": list(state.counts),
            "mean": state.mean,
            "var": state.var,
            "folded": state.folded,
        }
        if row is None:
            a, b = det.PATTERNS[pattern]
            await conn.execute(
                pattern_stats.insert().values(
                    key_hash=key_hash, pattern=pattern, dim_a=dims[a], dim_b=dims[b], **stored
                )
            )
        else:
            await conn.execute(
                update(pattern_stats).where(pattern_stats.c.key_hash == key_hash).values(**stored)
            )
        keyed.append((pattern, dims, key_hash, state, row.incident_id if row else None))
    hashes = [k[2] for k in keyed]
    await count_for_problems(conn, hashes, bucket)
    open_rows = (
        await conn.execute(
            select(incidents)
            .where(incidents.c.key_hash.in_(hashes), incidents.c.status.in_(ACTIVE))
            .order_by(incidents.c.created_at)
        )
    ).all()
    for incident in open_rows:
        await link(uow, envelope, incident.id, [(complaint_id, data.received_at)], rules, now)
    if open_rows:
        return
    for pattern, dims, key_hash, state, covered_by in keyed:
        found = await assess(conn, pattern, dims, state, config)
        if found.raised_by is None or await _covered(conn, covered_by, data.received_at, config):
            continue
        key = (pattern, dims, key_hash, state)
        await _raise(uow, envelope, key, found, hashes, values, config, rules, now)
        return


async def _covered(
    conn: AsyncConnection, incident_id: str | None, at: datetime, config: det.DetectorConfig
) -> bool:
    """An open incident already tells this story; a dismissed one silences its window."""
    if incident_id is None:
        return False
    query = select(incidents.c.status, incidents.c.last_at, incidents.c.merged_into)
    row = (await conn.execute(query.where(incidents.c.id == incident_id))).first()
    if row is None:
        return False
    if row.status == "merged":
        return await _covered(conn, row.merged_into, at, config)
    if row.status in ACTIVE:
        return True
    # Otherwise a supervisor's "false alarm" would be raised again by the very next complaint.
    return bool(row.status == "dismissed" and at - row.last_at < config.window)


async def _raise(
    uow: UnitOfWork,
    envelope: Envelope,
    key: tuple[str, dict[str, str], str, det.KeyState],
    found: Evidence,
    hashes: list[str],
    values: dict[str, str | None],
    config: det.DetectorConfig,
    rules: domain.RuleBook,
    now: datetime,
) -> None:
    pattern, dims, key_hash, state = key
    conn, incident_id = uow.conn, str(uuid.uuid4())
    members = await _window_members(conn, dims, state.bucket - config.window_buckets)
    context = {dim: value or "" for dim, value in values.items()}
    siblings = await sibling_values(conn, dims, context, state.bucket, config)
    crossing, baseline = found.primary(), found.baseline_per_bucket(state, config)
    is_, is_not, distinctions = specify(dims, members, crossing, baseline, siblings, config)
    spec = {"is": is_, "is_not": is_not, "distinctions": distinctions}
    times = [m["received_at"] for m in members]
    await conn.execute(
        incidents.insert().values(
            id=incident_id,
            key_hash=key_hash,
            pattern=pattern,
            dims=dims,
            status="open",
            spec=spec,
            evidence=found.stored() | {"ratio": is_["extent"]["ratio"]},
            complaint_count=0,
            first_at=min(times),
            last_at=max(times),
            created_at=now,
            updated_at=now,
        )
    )
    # The sibling patterns of the same complaints are part of the same story: no second incident.
    await conn.execute(
        update(pattern_stats)
        .where(pattern_stats.c.key_hash.in_(hashes))
        .values(incident_id=incident_id)
    )
    linked = [(m["complaint_id"], m["received_at"]) for m in members]
    ids = await link(uow, envelope, incident_id, linked, rules, now, announce=False)
    detected = IncidentDetected.model_validate(
        {
            "incident_id": incident_id,
            "pattern": {"pattern": pattern, **dims},
            "complaint_ids": ids,
            "is": is_,
            "is_not": is_not,
            "distinctions": distinctions,
            "raised_by": found.raised_by,
            "evidence": found.stored(),
        }
    )
    uow.emit(
        new_event(
            "incident.detected", detected, producer=PRODUCER, complaint_id=None, cause=envelope
        )
    )


async def _window_members(
    conn: AsyncConnection, dims: dict[str, str], after_bucket: int
) -> list[dict[str, Any]]:
    where = [recent_complaints.c.bucket > after_bucket]
    where += [func.lower(recent_complaints.c[d]) == v.casefold() for d, v in dims.items()]
    rows = await conn.execute(
        select(recent_complaints).where(*where).order_by(recent_complaints.c.received_at)
    )
    return [dict(r._mapping) | {"received_at": r.received_at} for r in rows]
