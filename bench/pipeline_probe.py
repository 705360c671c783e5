"""Where complaints are in the pipeline, read from each service's own database.

Every service stamps its step with its own clock (intake `received_at`, escalation
`appraised_at`, ownership `created_at` of the case, analytics `updated_at` of the fact row); on
one machine those clocks are one, so their differences are the time each stage took.
"""

import asyncio
import statistics
import time
from datetime import datetime

import asyncpg

DONE = "SELECT count(*) FROM complaint_facts WHERE owner_id IS NOT NULL AND priority IS NOT NULL"
PRIORITISED_CASES = "SELECT count(*) FROM cases WHERE priority IS NOT NULL"
STAGE_COUNTS = {
    "prioritised by escalation": ("escalation", "SELECT count(*) FROM priorities"),
    "owned by ownership": ("ownership", "SELECT count(*) FROM cases"),
    "priority on the case": ("ownership", PRIORITISED_CASES),
    "fact row in analytics": ("analytics", DONE),
}


class PipelineProbe:
    def __init__(self, dsns: dict[str, str]):
        self._dsns = dsns
        self._conns: dict[str, asyncpg.Connection] = {}

    async def connect(self) -> None:
        for service in ("intake", "escalation", "ownership", "analytics"):
            self._conns[service] = await asyncpg.connect(self._dsns[service])

    async def close(self) -> None:
        for conn in self._conns.values():
            await conn.close()

    async def count_posted(self) -> int:
        return int(await self._conns["intake"].fetchval("SELECT count(*) FROM complaints"))

    async def count_done(self) -> int:
        """Complaints owned and prioritised in ownership, and in analytics with both."""
        facts = await self._conns["analytics"].fetchval(DONE)
        cases = await self._conns["ownership"].fetchval(PRIORITISED_CASES)
        return int(min(facts, cases))

    async def wait_done(self, target: int, timeout: float) -> tuple[float, int]:
        """(wall-clock time the count reached `target`, or the time given up, and the count).

        On the way, `reached` keeps when each service alone had every complaint, which shows
        the stage that held the others up."""
        deadline = time.monotonic() + timeout
        self.reached: dict[str, float] = {}
        while True:
            for stage, (service, query) in STAGE_COUNTS.items():
                if stage in self.reached:
                    continue
                if await self._conns[service].fetchval(query) >= target:
                    self.reached[stage] = time.time()
            done = await self.count_done()
            if done >= target or time.monotonic() > deadline:
                return time.time(), done
            await asyncio.sleep(0.2)

    async def stages(self, sent: dict[str, float], timeout: float) -> dict[str, list[float]]:
        """Seconds per stage for each complaint sent at `sent[id]` (wall clock)."""
        ids = list(sent)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            facts = await self._conns["analytics"].fetchval(
                DONE + " AND complaint_id = ANY($1::text[])", ids
            )
            if facts >= len(ids):
                break
            await asyncio.sleep(0.2)
        received = await self._times("intake", "complaints", "id", "received_at", ids)
        prioritised = await self._times(
            "escalation", "priorities", "complaint_id", "appraised_at", ids
        )
        owned = await self._times("ownership", "cases", "id", "created_at", ids)
        in_facts = await self._times(
            "analytics", "complaint_facts", "complaint_id", "updated_at", ids
        )
        stages: dict[str, list[float]] = {
            "POST -> stored by intake": [],
            "stored -> prioritised": [],
            "stored -> owned": [],
            "complaint -> owner": [],
            "complaint -> fact row": [],
        }
        for cid, at in sent.items():
            stored = received.get(cid)
            if stored is None:
                continue
            stages["POST -> stored by intake"].append(stored - at)
            if cid in prioritised:
                stages["stored -> prioritised"].append(prioritised[cid] - stored)
            if cid in owned:
                stages["stored -> owned"].append(owned[cid] - stored)
                stages["complaint -> owner"].append(owned[cid] - at)
            if cid in in_facts:
                stages["complaint -> fact row"].append(in_facts[cid] - at)
        stages["(not owned in time)"] = [0.0] * (len(ids) - len(owned))
        return stages

    async def _times(
        self, service: str, table: str, key: str, column: str, ids: list[str]
    ) -> dict[str, float]:
        rows = await self._conns[service].fetch(
            f"SELECT {key}::text AS k, {column} AS t FROM {table} WHERE {key}::text = ANY($1)", ids
        )
        return {r["k"]: _epoch(r["t"]) for r in rows}


def _epoch(value: datetime) -> float:
    return value.timestamp()


def stage_table(stages: dict[str, list[float]]) -> str:
    lines = []
    for name, seconds in stages.items():
        if name.startswith("("):
            if seconds:
                lines.append(f"    {len(seconds)} complaints {name}")
            continue
        if len(seconds) < 2:
            lines.append(f"    {name:<26} n/a")
            continue
        q = statistics.quantiles(seconds, n=100)
        lines.append(
            f"    {name:<26} p50 {q[49] * 1000:7.0f} ms   p99 {q[98] * 1000:7.0f} ms   "
            f"max {max(seconds) * 1000:7.0f} ms"
        )
    return "\n".join(lines)
