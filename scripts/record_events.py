"""Record the events the real services emit for a few complaints, for analytics' tests.

Starts the five services as `make run` does (scripts/run.py, SQLite under a temporary VAR_DIR,
the real broker, a loopback SMTP sink), drives complaints through the public APIs and the
customer's mail, and writes every envelope seen on the exchange to tests/data/recorded_events.jsonl:

* a task done, then a resolution the customer confirms;
* a resolution the customer rejects, the case reopened, resolved again and confirmed;
* a cannot-fulfil outcome the customer acknowledges.

    .venv/bin/python scripts/record_events.py [--out PATH]
"""

import argparse
import asyncio
import os
import re
import secrets
import signal
import sys
import tempfile
import uuid
from collections.abc import Awaitable, Callable
from email.message import Message
from functools import partial
from pathlib import Path
from typing import Any

import aiosmtplib
import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from shared.auth import mint_token  # noqa: E402
from tests.support.infra import AMQP_URL, delete_broker_objects, run_id  # noqa: E402
from tests.support.mail import MailSink, free_port, reply  # noqa: E402
from tests.support.probe import BusProbe  # noqa: E402

SERVICES = ["intake", "escalation", "ownership", "confirmation", "analytics"]
TOKEN = re.compile(r"#([A-Z0-9]{6,})\]")
DEFAULT_OUT = ROOT / "tests" / "data" / "recorded_events.jsonl"


async def until(check: Callable[[], Awaitable[Any]], what: str, seconds: float = 30.0) -> Any:
    """Poll until `check` gives something truthy; `what` names the wait when it times out."""
    try:
        async with asyncio.timeout(seconds):
            while True:
                value = await check()
                if value:
                    return value
                await asyncio.sleep(0.1)
    except TimeoutError:
        raise TimeoutError(f"waited {seconds} s for: {what}") from None


class Driver:
    def __init__(self, urls: dict[str, str], secret: str, mail: MailSink, listen: int):
        self.urls, self.secret, self.mail, self.listen = urls, secret, mail, listen

    def client(self, service: str, role: str, subject: str) -> httpx.AsyncClient:
        token = mint_token(self.secret, role, subject)
        return httpx.AsyncClient(
            base_url=self.urls[service], headers={"Authorization": f"Bearer {token}"}, timeout=10
        )

    async def complaint(self, customer: str, description: str) -> tuple[str, str]:
        async with self.client("intake", "frontend", "desk-1") as frontend:
            created = await frontend.post(
                "/v1/complaints",
                json={
                    "customer": {"name": "Ana Lima", "email": customer},
                    "channel": "email",
                    "contact": customer,
                    "category": "billing",
                    "product": "Credit card",
                    "region": "CA",
                    "description": description,
                },
            )
        assert created.status_code == 201, created.text
        case_id = created.json()["id"]
        case = await until(lambda: self.case(case_id, "owner_id"), "case assigned")
        return case_id, case["owner_id"]

    async def case(self, case_id: str, field: str, value: Any = None) -> dict[str, Any] | None:
        async with self.client("ownership", "supervisor", "sam") as supervisor:
            response = await supervisor.get(f"/v1/cases/{case_id}")
        if response.status_code != 200:
            return None
        body: dict[str, Any] = response.json()
        got = body.get(field)
        return body if (got if value is None else got == value) else None

    async def propose(self, case_id: str, owner_id: str, outcome: str, summary: str) -> None:
        async with self.client("ownership", "owner", owner_id) as owner:
            response = await owner.post(
                f"/v1/cases/{case_id}/resolution", json={"outcome": outcome, "summary": summary}
            )
        assert response.status_code == 200, response.text

    async def task(self, case_id: str, owner_id: str) -> None:
        async with self.client("ownership", "owner", owner_id) as owner:
            task = await owner.post(
                f"/v1/cases/{case_id}/tasks",
                json={"department": "finance", "type": "refund", "description": "Refund it"},
            )
        assert task.status_code == 201, task.text
        async with self.client("ownership", "department", "finance") as finance:
            done = await finance.post(f"/v1/tasks/{task.json()['id']}/complete")
        assert done.status_code == 200, done.text

    async def answer(self, customer: str, count: int, text: str) -> Message:
        asked = await self.mail.wait_for(customer, count=count)
        answer = reply(asked, customer, text)
        await aiosmtplib.send(answer, hostname="127.0.0.1", port=self.listen, sender=customer)
        return asked


async def drive(d: Driver) -> list[str]:
    run = uuid.uuid4().hex[:8]
    confirmed, rejected, cannot = (f"{n}.{run}@example.com" for n in ("ana", "ben", "cai"))

    one, owner_one = await d.complaint(confirmed, "I was charged twice for one purchase.")
    await d.task(one, owner_one)
    await d.propose(one, owner_one, "resolved", "We refunded the duplicate charge of $42.")
    await d.answer(confirmed, 1, "Yes, thank you, all sorted.")

    two, owner_two = await d.complaint(rejected, "My card was blocked without any notice.")
    await d.propose(two, owner_two, "resolved", "We unblocked your card.")
    await d.answer(rejected, 1, "No, the card is still blocked.")
    await until(lambda: d.case(two, "status", "reopened"), "reopened after the no")
    await d.propose(two, owner_two, "resolved", "The card is now unblocked, we checked it.")
    await d.answer(rejected, 2, "Yes, it works now.")

    three, owner_three = await d.complaint(cannot, "Please waive the annual fee forever.")
    await d.propose(three, owner_three, "cannot_fulfil", "We cannot waive the fee for good.")
    await d.answer(cannot, 1, "Yes, I understand.")

    for case_id in (one, two, three):
        await until(partial(d.case, case_id, "status", "closed"), f"{case_id} closed")
    return [one, two, three]


async def record() -> list[str]:
    """Run the system, drive the complaints; the envelopes seen, as JSON lines."""
    run = run_id()
    ports = {s: free_port() for s in SERVICES}
    secret = secrets.token_urlsafe(32)
    exchange, prefix = f"complaints.rec{run}", f"rec{run}."
    listen = free_port()
    with tempfile.TemporaryDirectory() as var, MailSink() as mail:
        env = {
            **os.environ,
            "APP_ENV": "test",
            "AUTH_SECRET": secret,
            "AMQP_URL": AMQP_URL,
            "BUS_EXCHANGE": exchange,
            "BUS_QUEUE_PREFIX": prefix,
            "VAR_DIR": var,
            "OUTBOX_POLL_SECONDS": "0.05",
            "CONFIRMATION_SMTP_PORT": str(mail.port),
            "CONFIRMATION_SMTP_LISTEN_PORT": str(listen),
            **{f"{s.upper()}_PORT": str(p) for s, p in ports.items()},
        }
        urls = {s: f"http://127.0.0.1:{p}" for s, p in ports.items()}
        probe = BusProbe(AMQP_URL, exchange, "#")
        await probe.__aenter__()  # bound before anything is published: nothing is missed
        launcher = await asyncio.create_subprocess_exec(
            sys.executable, "scripts/run.py", "--no-mailsink", cwd=ROOT, env=env
        )
        try:
            await until(lambda: _ready(urls), "services ready", seconds=60)
            await drive(Driver(urls, secret, mail, listen))
            await asyncio.sleep(2.0)  # the last events (analytics' own, closures) arrive
        finally:
            launcher.send_signal(signal.SIGTERM)
            await asyncio.wait_for(launcher.wait(), 30)
            await probe.__aexit__()
            await delete_broker_objects(exchange, prefix, SERVICES)
    return [e.model_dump_json() for e in probe.events]


async def _ready(urls: dict[str, str]) -> bool:
    async with httpx.AsyncClient(timeout=2) as client:
        try:
            codes = [(await client.get(f"{u}/readyz")).status_code for u in urls.values()]
        except httpx.TransportError:
            return False
    return all(c == 200 for c in codes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    lines = asyncio.run(record())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("".join(line + "\n" for line in lines))
    print(f"{len(lines)} events written to {args.out}")


if __name__ == "__main__":
    main()
