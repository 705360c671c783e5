"""What must hold after the faults: read with SQL from each service's database and the broker."""

import json
import re
from collections import Counter
from dataclasses import dataclass, field

import aio_pika
import asyncpg

from tests.faults.infra import PrivatePostgres
from tests.faults.load import Load
from tests.faults.system import SERVICES

TOKEN = re.compile(r"#([A-Z0-9]{6,})\]")


@dataclass
class Findings:
    stored: set[str] = field(default_factory=set)
    lost: set[str] = field(default_factory=set)  # no case, no owner, no priority or no fact row
    duplicated: Counter[str] = field(default_factory=Counter)  # complaint id -> duplicates
    not_closed: set[str] = field(default_factory=set)  # the customer said yes, still open
    dead: Counter[str] = field(default_factory=Counter)  # complaint id (or "?") -> dead letters
    dead_by_queue: Counter[str] = field(default_factory=Counter)
    why_duplicated: list[str] = field(default_factory=list)  # what each duplicate was

    def duplicate(self, complaint_id: str, extra: int, what: str) -> None:
        self.duplicated[complaint_id] += extra
        self.why_duplicated.append(f"{complaint_id}: {what} x{extra + 1}")

    def settled(self, load: Load) -> bool:
        return not self.lost and not self.not_closed


async def _rows(pg: PrivatePostgres, service: str, sql: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(pg.dsn(f"faults_{service}"))
    try:
        return list(await conn.fetch(sql))
    finally:
        await conn.close()


async def inspect(pg: PrivatePostgres, load: Load, amqp_url: str, drain: bool) -> Findings:
    f = Findings()
    f.stored = {r["id"] for r in await _rows(pg, "intake", "SELECT id FROM complaints")}
    cases = {
        r["id"]: r
        for r in await _rows(pg, "ownership", "SELECT id, owner_id, priority, status FROM cases")
    }
    facts = Counter(
        r["complaint_id"]
        for r in await _rows(pg, "analytics", "SELECT complaint_id FROM complaint_facts")
    )
    for cid in f.stored:
        case = cases.get(cid)
        if case is None or not case["owner_id"] or not case["priority"] or not facts[cid]:
            f.lost.add(cid)
    for cid in load.posted:
        if cid not in f.stored:
            f.lost.add(cid)  # the client was told 201 and the complaint is not there
    closures = Counter(
        r["case_id"]
        for r in await _rows(pg, "ownership", "SELECT case_id FROM timeline WHERE kind = 'closed'")
    )
    for cid in load.replied:
        if cases.get(cid) is None or cases[cid]["status"] != "closed":
            f.not_closed.add(cid)
    for cid, n in closures.items():
        if n > 1:
            f.duplicate(cid, n - 1, "closed on the timeline")
    # The same entry twice on one case is a handler applied twice.
    for r in await _rows(
        pg,
        "ownership",
        "SELECT case_id, kind, actor, detail::text AS detail, count(*) AS n FROM timeline "
        "GROUP BY case_id, kind, actor, detail::text HAVING count(*) > 1",
    ):
        f.duplicate(r["case_id"], r["n"] - 1, f"timeline {r['kind']} {r['actor']} {r['detail']}")
    for r in await _rows(
        pg,
        "confirmation",
        "SELECT complaint_id, kind, reminder_no, count(*) AS n FROM outbound_messages "
        "WHERE status = 'sent' "
        "GROUP BY request_id, complaint_id, kind, reminder_no HAVING count(*) > 1",
    ):
        what = f"outbound {r['kind']} reminder {r['reminder_no']}"
        f.duplicate(r["complaint_id"], r["n"] - 1, what)
    # What the mail server received: each token must arrive once.
    per_token = Counter(
        found.group(1)
        for m in load.mail.messages
        if (found := TOKEN.search(str(m["Subject"]))) and not _is_reminder(m)
    )
    complaint_of_token = {
        found.group(1): load.contact_of.get(str(m["To"]).split("<")[-1].strip("> ").lower(), "?")
        for m in load.mail.messages
        if (found := TOKEN.search(str(m["Subject"])))
    }
    for token, n in per_token.items():
        if n > 1:
            f.duplicate(complaint_of_token.get(token, "?"), n - 1, f"mail with token {token}")
    await _dead_letters(amqp_url, f, drain)
    return f


def _is_reminder(message: object) -> bool:
    return "reminder" in str(message["Subject"]).lower()  # type: ignore[index]


async def _dead_letters(amqp_url: str, f: Findings, drain: bool) -> None:
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        for service in SERVICES:
            name = f"{service}.dlq"
            try:
                queue = await channel.declare_queue(name, passive=True)
            except aio_pika.exceptions.ChannelClosed:
                channel = await connection.channel()
                continue
            count = queue.declaration_result.message_count or 0
            f.dead_by_queue[service] = count
            if not drain:
                continue
            while (message := await queue.get(fail=False, no_ack=True)) is not None:
                try:
                    cid = json.loads(message.body).get("complaint_id") or "?"
                except (ValueError, AttributeError):
                    cid = "?"
                f.dead[cid] += 1
    finally:
        await connection.close()
