"""A steady load as real clients make it: complaints, owners' proposals, customers' email yes.

Every request is retried on 5xx and connection errors (as a front end would, with the same
Idempotency-Key); every non-2xx answer is counted under the fault window it happened in.
"""

import asyncio
import re
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from email.utils import parseaddr

import aiosmtplib
import httpx

from shared.auth import mint_token
from tests.faults.system import Services
from tests.support.mail import MailSink, reply

TOKEN = re.compile(r"#([A-Z0-9]{6,})\]")
RETRY_FOR = 150.0  # a client gives up after this: longer than the longest outage


@dataclass
class Load:
    system: Services
    mail: MailSink
    window: str = "start"
    posted: dict[str, str] = field(default_factory=dict)  # complaint id -> window
    gave_up: Counter[str] = field(default_factory=Counter)
    errors: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    proposed: set[str] = field(default_factory=set)
    replied: set[str] = field(default_factory=set)  # complaint ids the customer said yes for
    contact_of: dict[str, str] = field(default_factory=dict)  # address -> complaint id
    running: bool = True

    def _auth(self, role: str, subject: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {mint_token(self.system.secret, role, subject)}"}

    async def _call(
        self, client: httpx.AsyncClient, method: str, url: str, **kw: object
    ) -> httpx.Response | None:
        window = self.window
        deadline = asyncio.get_running_loop().time() + RETRY_FOR
        while asyncio.get_running_loop().time() < deadline:
            try:
                r = await client.request(method, url, **kw)  # type: ignore[arg-type]
            except httpx.TransportError as e:
                self.errors[window][type(e).__name__] += 1
            else:
                if r.status_code < 300:
                    return r
                self.errors[window][str(r.status_code)] += 1
                if r.status_code < 500:
                    return r
            await asyncio.sleep(1.0)
        return None

    async def complaints(self, rate: float) -> None:
        async with httpx.AsyncClient(
            base_url=self.system.url("intake"),
            headers=self._auth("frontend", "desk-1"),
            timeout=10,
        ) as client:
            pending: set[asyncio.Task[None]] = set()
            while self.running:
                task = asyncio.create_task(self._one_complaint(client))
                pending.add(task)
                task.add_done_callback(pending.discard)
                await asyncio.sleep(1 / rate)
            if pending:
                await asyncio.gather(*pending)

    async def _one_complaint(self, client: httpx.AsyncClient) -> None:
        window = self.window
        address = f"c{uuid.uuid4().hex[:12]}@example.com"
        r = await self._call(
            client,
            "POST",
            "/v1/complaints",
            headers={"Idempotency-Key": str(uuid.uuid4())},
            json={
                "customer": {"name": "Ana Lima", "email": address},
                "channel": "email",
                "contact": address,
                "category": "billing",
                "product": "Credit card",
                "region": "CA",
                "description": "I was charged twice for the same purchase.",
            },
        )
        if r is None or r.status_code != 201:
            self.gave_up[window] += 1
            return
        complaint_id = r.json()["id"]
        self.posted[complaint_id] = window
        self.contact_of[address] = complaint_id
        await self._propose(complaint_id)

    async def _propose(self, complaint_id: str) -> None:
        """The owner proposes a resolution once the case has an owner (waits as a person would)."""
        async with httpx.AsyncClient(base_url=self.system.url("ownership"), timeout=10) as client:
            deadline = asyncio.get_running_loop().time() + RETRY_FOR
            while asyncio.get_running_loop().time() < deadline:
                try:
                    r = await client.get(
                        f"/v1/cases/{complaint_id}", headers=self._auth("supervisor", "sam")
                    )
                except httpx.TransportError:
                    r = None
                if r is not None and r.status_code == 200 and r.json().get("owner_id"):
                    break
                await asyncio.sleep(1.0)
            else:
                return
            owner = r.json()["owner_id"]
            done = await self._call(
                client,
                "POST",
                f"/v1/cases/{complaint_id}/resolution",
                headers=self._auth("owner", owner),
                json={"outcome": "resolved", "summary": "We refunded the duplicate charge."},
            )
            if done is not None and done.status_code == 200:
                self.proposed.add(complaint_id)

    async def replies(self) -> None:
        """Each customer answers the first question mailed to them with a yes, over SMTP."""
        seen = 0
        sending: set[asyncio.Task[None]] = set()
        while self.running or seen < len(self.mail.messages):
            messages = self.mail.messages[seen:]
            seen += len(messages)
            for m in messages:
                address = parseaddr(str(m["To"]))[1].lower()
                complaint_id = self.contact_of.get(address)
                if complaint_id is None or complaint_id in self.replied:
                    continue
                if not TOKEN.search(str(m["Subject"])):
                    continue
                self.replied.add(complaint_id)
                task = asyncio.create_task(self._send_yes(m, address))
                sending.add(task)
                task.add_done_callback(sending.discard)
            await asyncio.sleep(0.2)
        if sending:
            await asyncio.gather(*sending)

    async def _send_yes(self, original: object, address: str) -> None:
        message = reply(original, address, "Yes, it is resolved. Thank you!")  # type: ignore[arg-type]
        window = self.window
        for _ in range(int(RETRY_FOR)):
            try:
                await aiosmtplib.send(
                    message,
                    hostname="127.0.0.1",
                    port=self.system.smtp_listen_port,
                    sender=address,
                    timeout=10,
                )
                return
            except (aiosmtplib.SMTPException, OSError) as e:
                self.errors[window][f"smtp {type(e).__name__}"] += 1
                await asyncio.sleep(1.0)
