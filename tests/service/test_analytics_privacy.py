"""The analytics read model keeps no personal data, whatever the events carried."""

import io
from typing import Any

import httpx
import pyarrow.parquet as pq
from sqlalchemy import inspect, text

from services.analytics.models import EXPORTABLE
from shared.events import AuditCompleted, ComplaintContactAdded, Facts, ProblemEvent, new_event
from tests.support.analytics import Story, at, eventually, publish, started
from tests.support.env import Database, TestEnv
from tests.support.services import app_of

NAME, STREET = "Zebediah Quux", "12 Wobble Lane"
EMAIL, PHONE = "zebediah.quux@example.org", "+14155550199"


async def every_stored_text(client: httpx.AsyncClient) -> str:
    """Every value of every row of every table in the service's database, as one text."""
    engine = app_of(client).state.engine
    async with engine.connect() as conn:
        names = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
        dumps: list[str] = []
        for name in names:
            rows = await conn.execute(text(f'SELECT * FROM "{name}"'))
            dumps.extend(repr(tuple(row)) for row in rows)
    return "\n".join(dumps)


async def test_no_table_holds_contact_description_or_name(env: TestEnv, database: Database) -> None:
    story = Story("email")
    follow_up = ComplaintContactAdded(
        contact_id="c-1", channel="sms", contact=PHONE, text=f"{NAME} again", received_at=at(1)
    )
    received = story.received(
        0,
        contact=EMAIL,
        description=f"{NAME} of {STREET} was charged twice",
        facts=Facts(what=f"{NAME}'s card", where=STREET),
    )
    # Fields this version does not declare, as a newer producer could send them.
    extra: dict[str, Any] = {"customer_name": NAME, "customer_email": EMAIL}
    received = received.model_copy(update={"data": {**received.data, **extra}})
    events = [
        received,
        story.event("complaint.contact_added", 1, follow_up),
        story.proposed(2, summary=f"Refunded {NAME} at {STREET}"),
        story.answered("confirmed", 3, evidence=f"{NAME} wrote YES from {EMAIL}"),
        story.closed(3, reason=f"{NAME} confirmed"),
        new_event(
            "problem.opened",
            ProblemEvent(problem_id="p-1", title=f"{NAME}'s card", cause=f"At {STREET}"),
            producer="test",
            complaint_id=None,
        ),
        story.event(
            "audit.completed",
            4,
            AuditCompleted(complaint_id=story.id, outcome="failed", notes=f"{NAME} unhappy"),
        ),
    ]
    async with started(env, database, bus_prefetch=1) as client:
        await publish(env, *events)
        await eventually(client, story.id, lambda r: r.audit_outcome == "failed" and r.received_at)
        stored = (await every_stored_text(client)).casefold()
        exported = (await every_export(client)).casefold()
    # The scan does see what analytics keeps, so an empty result cannot pass for a clean one.
    assert story.id in stored and "cmp-" in stored and "k" * 64 in stored
    assert story.id in exported and "p-1" in exported and "failed" in exported
    for secret in (NAME, "Zebediah", "Quux", STREET, "Wobble", EMAIL, PHONE, "4155550199"):
        assert secret.casefold() not in stored, secret
        assert secret.casefold() not in exported, secret


async def every_export(client: httpx.AsyncClient) -> str:
    """Every exportable table downloaded as CSV and as Parquet, as one text."""
    texts: list[str] = []
    for name in EXPORTABLE:
        as_csv = await client.get(f"/v1/export/{name}.csv")
        as_parquet = await client.get(f"/v1/export/{name}.parquet")
        assert as_csv.status_code == as_parquet.status_code == 200
        texts += [as_csv.text, repr(pq.read_table(io.BytesIO(as_parquet.content)).to_pylist())]
    return "\n".join(texts)
