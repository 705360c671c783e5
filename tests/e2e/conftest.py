"""The system as `make run` starts it: scripts/run.py and five service processes."""

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from shared.auth import mint_token
from tests.support.infra import postgres_database, run_id
from tests.support.launcher import SERVICES, launched
from tests.support.mail import MailSink


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
    run, var = run_id(), tmp_path / "var"
    async with AsyncExitStack() as stack:
        databases = {s: f"sqlite+aiosqlite:///{var / f'{s}.db'}" for s in SERVICES}
        if request.param == "postgresql":
            for s in SERVICES:
                databases[s] = await stack.enter_async_context(postgres_database(f"t_{run}_{s}"))
        urls = {f"{s.upper()}_DATABASE_URL": u for s, u in databases.items()}
        extra = urls if request.param == "postgresql" else {}
        running = await stack.enter_async_context(launched(var, run, extra))
        yield System(
            {s: u for s, u in running.urls.items() if s != "console"},
            running.smtp_listen_port,
            running.mail,
            running.secret,
            var / "log",
            running.env["BUS_EXCHANGE"],
            running.env["BUS_QUEUE_PREFIX"],
            databases,
        )
