"""Fold events into the read model in batches: archive them, then re-project the streams touched.

Re-projecting a stream from its whole archived history (rather than patching a row) is what makes
late, repeated and out-of-order events harmless; batching many events per transaction is what
makes it fast. The same path rebuilds everything from the archive.
"""

import secrets
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.analytics import bulk_statements, domain, erasure
from services.analytics.domain import IDENTIFYING
from services.analytics.kpi import rollup
from services.analytics.models import (
    PROJECTIONS,
    complaint_facts,
    fact_events,
    incident_facts,
    incident_links,
    metadata,
    problem_facts,
    streams,
)
from services.analytics.projection.complaints import ordered, project_complaint
from services.analytics.projection.incident_facts import project_incident, project_problem
from services.analytics.projection.state_cache import CACHE, Entry
from shared.events import Envelope
from shared.timestamps import as_utc

CHUNK = 1000
CHILDREN = ("task_facts", "confirmation_facts", "audit_facts", "regulatory_clock_facts")


def archive_row(envelope: Envelope) -> dict[str, Any] | None:
    attributes = domain.event_attributes(envelope)
    stream = domain.stream_of(envelope, attributes)
    if stream is None:
        return None
    return {
        "event_id": envelope.event_id,
        "complaint_id": envelope.complaint_id or attributes.get("complaint_id"),
        "stream": stream,
        "type": envelope.type,
        "occurred_at": as_utc(envelope.occurred_at),
        "attributes": attributes,
    }


async def ingest(conn: AsyncConnection, envelopes: Sequence[Envelope]) -> int:
    """Archive the events and re-project their streams, in the caller's transaction."""
    # A batch may hold one event twice (a redelivery); the archive keeps it once.
    rows = list({r["event_id"]: r for r in map(archive_row, envelopes) if r is not None}.values())
    if not rows:
        return 0
    touched = sorted({row["stream"] for row in rows})
    token = secrets.randbits(62)
    previous = await _lock_streams(conn, touched, token)
    # An erased complaint's late events are masked before they are archived.
    identifying = [r for r in rows if r["complaint_id"] and set(r["attributes"]) & set(IDENTIFYING)]
    erased = await erasure.erased_among(conn, sorted({r["complaint_id"] for r in identifying}))
    for row in identifying:
        if row["complaint_id"] in erased:
            row["attributes"] = erasure.mask(row["attributes"])
    inserted = set(
        await bulk_statements.insert(conn, fact_events, rows, returning=fact_events.c.event_id)
    )
    fresh: dict[str, list[domain.FactEvent]] = defaultdict(list)
    for row in rows:
        if row["event_id"] in inserted:
            event = (row["event_id"], row["type"], row["occurred_at"], row["attributes"])
            fresh[row["stream"]].append(domain.FactEvent(*event))
    # Streams nobody wrote since this process did: their history is the cached one plus these.
    # A stream seen for the first time has no history and no rows before these events.
    known = {s: e for s in touched if (e := CACHE.valid(s, previous.get(s))) is not None}
    known |= {s: Entry(token, [], {}) for s in touched if previous.get(s) is None}
    await project_streams(conn, touched, token=token, known=known, fresh=fresh)
    return len(rows)


async def _lock_streams(
    conn: AsyncConnection, names: list[str], token: int
) -> dict[str, int | None]:
    """Lock the streams, in one order, before reading their histories (see models.streams), and
    stamp them with this transaction's token; the token each had before (None if new)."""
    columns: dict[str, list[Any]] = {
        "stream": names,
        "updated_at": [datetime.now(UTC)] * len(names),
    }
    return await bulk_statements.stamp(conn, streams, columns | {"token": [token] * len(names)})


async def project_streams(
    conn: AsyncConnection,
    names: Sequence[str],
    *,
    keep_rollup: bool = True,
    token: int | None = None,
    known: dict[str, Entry] | None = None,
    fresh: dict[str, list[domain.FactEvent]] | None = None,
) -> None:
    """Re-project the streams; with keep_rollup, move their complaints' rollup contributions.

    Streams in `known` are taken from the cache, plus their `fresh` events, instead of being
    read; with a `token`, what the complaints are now is cached under it.
    """
    known, fresh = known or {}, fresh or {}
    await bulk_statements.plan_each_time(conn)
    histories: dict[str, list[domain.FactEvent]] = defaultdict(list)
    e = fact_events.c
    columns = [e.stream, e.event_id, e.type, e.occurred_at, e.attributes]
    unknown = [name for name in names if name not in known]
    for stream, *event in await bulk_statements.select_in(conn, columns, e.stream, unknown):
        histories[stream].append(domain.FactEvent(*event))
    for name, entry in known.items():
        histories[name] = entry.events + fresh.get(name, [])
    kinds: dict[str, dict[str, list[domain.FactEvent]]] = defaultdict(dict)
    for name, events in histories.items():
        kind, _, key = name.partition(":")
        # project_complaint puts a history in order itself; the others take it in order.
        kinds[kind][key] = events if kind == "complaint" else ordered(events)
    delta = await _complaints(conn, kinds["complaint"], keep_rollup, token, known)
    await _incidents(conn, kinds["incident"])
    problems = [project_problem(k, v) for k, v in kinds["problem"].items()]
    await bulk_statements.insert(conn, problem_facts, problems, "update")
    # Last, so that the rollup's lock is held only until the commit that follows.
    await rollup.apply(conn, delta)


async def _complaints(
    conn: AsyncConnection,
    histories: dict[str, list[domain.FactEvent]],
    keep_rollup: bool,
    token: int | None,
    known: dict[str, Entry],
) -> rollup.Delta:
    delta = rollup.Delta()
    if not histories:
        return delta
    ids = list(histories)
    # What the complaints are now: for the rollup, and to write only rows that change.
    before: dict[str, tuple[Any, dict[str, list[Any]]]] = {}
    if keep_rollup:
        for complaint_id in ids:
            if (entry := known.get(f"complaint:{complaint_id}")) is not None:
                before[complaint_id] = (entry.row or None, entry.children)
        before |= await _current(conn, [i for i in ids if i not in before])
    now = datetime.now(UTC)
    facts, children, replaced = [], defaultdict(list), defaultdict(list)
    for complaint_id, events in histories.items():
        row, rows_of = project_complaint(complaint_id, events)
        old_row, old_children = before.get(complaint_id, (None, {}))
        if old_row is None or any(old_row[k] != v for k, v in row.items()):
            facts.append({**row, "updated_at": now})
        for name, rows in rows_of.items():
            if old_row is None or _keyed(name, rows) != _keyed(name, old_children.get(name, [])):
                replaced[name].append(complaint_id)
                children[name].extend(rows)
        if keep_rollup:
            delta.move((old_row, old_children.get("task_facts", [])), (row, rows_of["task_facts"]))
        if token is not None:
            CACHE.put(f"complaint:{complaint_id}", Entry(token, events, row, rows_of))
    await bulk_statements.insert(conn, complaint_facts, facts, "update")
    for name in CHILDREN:
        table = metadata.tables[name]
        await bulk_statements.delete_in(conn, table, table.c.complaint_id, replaced[name])
        await bulk_statements.insert(conn, table, children[name])
    await _link_incidents(conn, ids)
    return delta


def _keyed(table: str, rows: list[dict[str, Any]]) -> dict[Any, dict[str, Any]]:
    """The rows by primary key, to compare two sets of rows whatever their order."""
    keys = [c.name for c in metadata.tables[table].primary_key.columns]
    return {tuple(row[k] for k in keys): row for row in rows}


async def _current(
    conn: AsyncConnection, ids: list[str]
) -> dict[str, tuple[Any, dict[str, list[Any]]]]:
    """The complaints' fact rows and child rows as they are before this re-projection."""
    current: dict[str, tuple[Any, dict[str, list[Any]]]] = {}
    for table in (complaint_facts, *(metadata.tables[name] for name in CHILDREN)):
        names = table.c.keys()
        for r in await bulk_statements.select_in(conn, list(table.c), table.c.complaint_id, ids):
            row = dict(zip(names, r, strict=True))
            if table is complaint_facts:
                current[row["complaint_id"]] = (row, defaultdict(list))
            elif row["complaint_id"] in current:
                current[row["complaint_id"]][1][table.name].append(row)
    return current


async def _incidents(conn: AsyncConnection, histories: dict[str, list[domain.FactEvent]]) -> None:
    if not histories:
        return
    rows, links = [], []
    for incident_id, events in histories.items():
        row, linked = project_incident(incident_id, events)
        rows.append(row)
        links += [{"incident_id": incident_id, "complaint_id": c} for c in linked]
    ids = list(histories)
    previous = await conn.execute(
        select(incident_links.c.complaint_id).where(incident_links.c.incident_id.in_(ids))
    )
    affected = {r.complaint_id for r in previous} | {link["complaint_id"] for link in links}
    await bulk_statements.insert(conn, incident_facts, rows, "update")
    await conn.execute(incident_links.delete().where(incident_links.c.incident_id.in_(ids)))
    await bulk_statements.insert(conn, incident_links, links)
    await _link_incidents(conn, sorted(affected))


async def _link_incidents(conn: AsyncConnection, complaint_ids: list[str]) -> None:
    # Whichever of complaint and incident arrives last, the complaint ends linked to the same one.
    first = (
        select(func.min(incident_links.c.incident_id))
        .where(incident_links.c.complaint_id == complaint_facts.c.complaint_id)
        .scalar_subquery()
    )
    for chunk in bulk_statements.chunks(conn, complaint_ids):
        await conn.execute(
            complaint_facts.update()
            .where(
                bulk_statements.among(conn, complaint_facts.c.complaint_id, chunk),
                complaint_facts.c.incident_id.is_distinct_from(first),
            )
            .values(incident_id=first)
        )


async def rebuild(engine: AsyncEngine, batch: int = CHUNK) -> int:
    """Empty every projection and re-project each stream of the archive; returns the streams."""
    CACHE.clear()
    async with engine.begin() as conn:
        # Stream rows stay: a stream without one is one that never had an event (see ingest).
        for table in reversed(PROJECTIONS):
            if table is not streams:
                await conn.execute(table.delete())
    done, last = 0, ""
    while True:
        async with engine.begin() as conn:
            page = [
                r.stream
                for r in await conn.execute(
                    select(fact_events.c.stream)
                    .where(fact_events.c.stream > last)
                    .group_by(fact_events.c.stream)
                    .order_by(fact_events.c.stream)
                    .limit(batch)
                )
            ]
            if not page:
                break
            await _lock_streams(conn, page, secrets.randbits(62))
            await project_streams(conn, page, keep_rollup=False)
        done, last = done + len(page), page[-1]
    await rollup.recompute(engine)
    return done
