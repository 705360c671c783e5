"""The whole system as `make run` starts it, for the console's tests: scripts/run.py on free
ports with its own exchange and queue names, a MailSink for the customers' mail, and the demo
accounts under one known password. `console` is a module-scoped fixture (registered in
tests/conftest.py): each test module that asks for it gets one launched system."""

import asyncio
import re
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from shared.auth import mint_token
from tests.support.launcher import launched
from tests.support.mail import MailSink

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
    var = tmp_path_factory.mktemp("console") / "var"
    accounts = {
        "CONSOLE_SESSION_SECRET": secrets.token_urlsafe(32),
        "CONSOLE_DEMO_PASSWORD": PASSWORD,
    }
    async with launched(var, extra=accounts) as system:
        urls = system.urls
        yield Console(
            urls["console"], urls, system.secret, var, system.mail, system.smtp_listen_port
        )


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
