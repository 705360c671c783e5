"""The system as `make run` starts it: scripts/run.py and five service processes."""

import os
import secrets
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from shared.auth import mint_token
from tests.support.infra import (
    broker_users,
    delete_broker_objects,
    grant_topics,
    postgres_database,
    run_id,
)
from tests.support.launcher import ROOT, SERVICES, stop, wait_ready
from tests.support.mail import MailSink, free_port


@dataclass
class System:
    urls: dict[str, str]
    smtp_listen_port: int
    mail: MailSink
    secret: str
    log_dir: Path
    exchange: str = "complaints"
    queue_prefix: str = ""
    # Each service's database, as the services were started with it.
    databases: dict[str, str] = field(default_factory=dict)

    def token(self, role: str, subject: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {mint_token(self.secret, role, subject)}"}

    def client(self, service: str, role: str, subject: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.urls[service], headers=self.token(role, subject), timeout=10
        )

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text()[-3000:]}" for p in sorted(self.log_dir.glob("*.log"))
        )


@pytest.fixture(params=["sqlite", "postgresql"])
async def system(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[System]:
    run = run_id()
    ports = {s: free_port() for s in SERVICES}
    secret = secrets.token_urlsafe(32)
    env = {
        **os.environ,
        "APP_ENV": "test",
        "AUTH_SECRET": secret,
        **broker_users(),
        "BUS_EXCHANGE": f"complaints.t{run}",
        "BUS_QUEUE_PREFIX": f"t{run}.",
        "VAR_DIR": str(tmp_path / "var"),
        "OUTBOX_POLL_SECONDS": "0.05",
        # The retry queues of a run are removed by the broker once unused, as in service tests.
        "BUS_RETRY_QUEUE_EXPIRES_SECONDS": "600",
        # The suite runs at any hour; quiet hours have tests of their own.
        "CONFIRMATION_QUIET_HOURS_ENABLED": "false",
        **{f"{s.upper()}_PORT": str(p) for s, p in ports.items()},
        "CONSOLE_PORT": str(free_port()),
    }
    async with AsyncExitStack() as stack:
        mail = stack.enter_context(MailSink())
        listen = free_port()
        env |= {
            "CONFIRMATION_SMTP_PORT": str(mail.port),
            "CONFIRMATION_SMTP_LISTEN_PORT": str(listen),
            # Escalations are mailed through the same sink, without the demo's two-second poll.
            "ESCALATION_SMTP_PORT": str(mail.port),
            "ESCALATION_NOTIFICATION_POLL_SECONDS": "0.1",
        }
        if request.param == "postgresql":
            for s in SERVICES:
                url = await stack.enter_async_context(postgres_database(f"t_{run}_{s}"))
                env[f"{s.upper()}_DATABASE_URL"] = url
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
        stack.callback(stop, launcher)
        urls = {s: f"http://127.0.0.1:{p}" for s, p in ports.items()}
        system = System(
            urls,
            listen,
            mail,
            secret,
            tmp_path / "var" / "log",
            env["BUS_EXCHANGE"],
            env["BUS_QUEUE_PREFIX"],
            {
                s: env.get(f"{s.upper()}_DATABASE_URL")
                or f"sqlite+aiosqlite:///{tmp_path / 'var' / f'{s}.db'}"
                for s in SERVICES
            },
        )
        await wait_ready(launcher, urls)
        yield system
