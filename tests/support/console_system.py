"""The whole system as `make run` starts it, for the console's tests: scripts/run.py on free
ports with its own exchange and queue names, a MailSink for the customers' mail, and the demo
accounts under one known password. `console` is a module-scoped fixture (registered in
tests/conftest.py): each test module that asks for it gets one launched system."""

import asyncio
import os
import re
import secrets
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from shared.auth import mint_token
from tests.support.infra import broker_users, delete_broker_objects, grant_topics, run_id
from tests.support.launcher import ROOT, SERVICES
from tests.support.launcher import stop as _stop
from tests.support.launcher import wait_ready as _wait_ready
from tests.support.mail import MailSink, free_port

# Every demo account's password (CONSOLE_DEMO_PASSWORD) in the launched system.
PASSWORD = "demo-" + secrets.token_urlsafe(12)


@dataclass
class Console:
    url: str
    urls: dict[str, str]
    secret: str
    var: Path
    # The outbound SMTP relay confirmation (and escalation) send through, as a test sees it.
    mail: MailSink
    # Confirmation's own SMTP server, where the customers' replies arrive.
    smtp_listen_port: int

    def service(self, name: str, role: str, subject: str) -> httpx.AsyncClient:
        token = mint_token(self.secret, role, subject)
        return httpx.AsyncClient(
            base_url=self.urls[name], headers={"Authorization": f"Bearer {token}"}, timeout=10
        )

    def browser(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, timeout=10)

    def logs(self) -> str:
        """The end of each process's log, for a failure's report."""
        return "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}"
            for p in sorted((self.var / "log").glob("*.log"))
        )


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def console(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Console]:
    tmp = tmp_path_factory.mktemp("console")
    run = run_id()
    ports = {s: free_port() for s in [*SERVICES, "console"]}
    secret = secrets.token_urlsafe(32)
    env = {
        **os.environ,
        "APP_ENV": "test",
        "CONFIRMATION_QUIET_HOURS_ENABLED": "false",
        "AUTH_SECRET": secret,
        "CONSOLE_SESSION_SECRET": secrets.token_urlsafe(32),
        "CONSOLE_DEMO_PASSWORD": PASSWORD,
        **broker_users(),
        "BUS_EXCHANGE": f"complaints.t{run}",
        "BUS_QUEUE_PREFIX": f"t{run}.",
        "VAR_DIR": str(tmp / "var"),
        "OUTBOX_POLL_SECONDS": "0.05",
        **{f"{s.upper()}_PORT": str(p) for s, p in ports.items()},
    }
    async with AsyncExitStack() as stack:
        mail = stack.enter_context(MailSink())
        listen = free_port()
        env |= {
            "CONFIRMATION_SMTP_PORT": str(mail.port),
            "CONFIRMATION_SMTP_LISTEN_PORT": str(listen),
            # The ladder's notifications too, rather than whatever listens on the default port.
            "ESCALATION_SMTP_PORT": str(mail.port),
        }
        stack.push_async_callback(
            delete_broker_objects, env["BUS_EXCHANGE"], env["BUS_QUEUE_PREFIX"], SERVICES
        )
        await grant_topics(env["BUS_EXCHANGE"])
        launcher = subprocess.Popen(
            [sys.executable, "scripts/run.py", "--no-mailsink"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        stack.callback(_stop, launcher)
        urls = {s: f"http://127.0.0.1:{p}" for s, p in ports.items()}
        await _wait_ready(launcher, {s: u for s, u in urls.items() if s != "console"})
        await _wait_ready_console(urls["console"])
        yield Console(urls["console"], urls, secret, tmp / "var", mail, listen)


async def _wait_ready_console(url: str) -> None:
    async with httpx.AsyncClient(timeout=2) as client:
        for _ in range(150):
            try:
                if (await client.get(f"{url}/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError("the console did not start")


def csrf_of(page: httpx.Response) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, page.text[:500]
    return found.group(1)


async def sign_in(browser: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    token = csrf_of(await browser.get("/signin"))
    return await browser.post(
        "/signin", data={"csrf_token": token, "username": username, "password": password}
    )


async def eventually(read: Any, check: Any, seconds: float = 20) -> Any:
    for _ in range(int(seconds / 0.2)):
        value = await read()
        if check(value):
            return value
        await asyncio.sleep(0.2)
    raise AssertionError(f"never reached: last {value!r}")
