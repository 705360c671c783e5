"""The system as `make run` starts it, from a test: scripts/run.py's process, ready or stopped."""

import asyncio
import os
import secrets
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.infra import broker_users, delete_broker_objects, grant_topics, run_id
from tests.support.mail import MailSink, free_port

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ["intake", "escalation", "ownership", "confirmation", "analytics"]

READY_SECONDS = 150


async def wait_ready(launcher: subprocess.Popen[bytes], urls: dict[str, str]) -> None:
    async with httpx.AsyncClient(timeout=2) as client:
        # Generous: on a loaded 2-core machine, beside other test workers, a start takes ~60 s.
        deadline = asyncio.get_running_loop().time() + READY_SECONDS
        while asyncio.get_running_loop().time() < deadline:
            if launcher.poll() is not None:
                out = launcher.stdout.read().decode() if launcher.stdout else ""
                raise RuntimeError(f"scripts/run.py exited early:\n{out}")
            try:
                codes = [(await client.get(f"{u}/readyz")).status_code for u in urls.values()]
                if all(c == 200 for c in codes):
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError(f"the services did not become ready in {READY_SECONDS} s")


def stop(launcher: subprocess.Popen[bytes]) -> None:
    if launcher.poll() is None:
        launcher.send_signal(signal.SIGTERM)
        try:
            launcher.wait(30)
        except subprocess.TimeoutExpired:
            launcher.kill()


@dataclass
class Launched:
    """A running system: every service's and the console's URL, the secret its tokens are signed
    with, the environment it was started with, and the mail on both sides of confirmation."""

    urls: dict[str, str]
    secret: str
    env: dict[str, str]
    # The outbound SMTP relay confirmation and escalation send through, as a test sees it.
    mail: MailSink
    # Confirmation's own SMTP server, where the customers' replies arrive.
    smtp_listen_port: int


@asynccontextmanager
async def launched(
    var: Path, run: str | None = None, extra: Mapping[str, str] | None = None
) -> AsyncIterator[Launched]:
    """`scripts/run.py` on free ports, its own exchange and queue names (removed afterwards) and
    a MailSink; `extra` adds to or overrides the environment (databases, accounts)."""
    run = run or run_id()
    ports = {s: free_port() for s in [*SERVICES, "console"]}
    secret = secrets.token_urlsafe(32)
    env = {
        **os.environ,
        "APP_ENV": "test",
        "AUTH_SECRET": secret,
        **broker_users(),
        "BUS_EXCHANGE": f"complaints.t{run}",
        "BUS_QUEUE_PREFIX": f"t{run}.",
        "VAR_DIR": str(var),
        "OUTBOX_POLL_SECONDS": "0.05",
        # The retry queues of a run are removed by the broker once unused, as in service tests.
        "BUS_RETRY_QUEUE_EXPIRES_SECONDS": "600",
        # The suite runs at any hour; quiet hours have tests of their own.
        "CONFIRMATION_QUIET_HOURS_ENABLED": "false",
        # Escalations are mailed without the demo's two-second poll.
        "ESCALATION_NOTIFICATION_POLL_SECONDS": "0.1",
        **{f"{s.upper()}_PORT": str(p) for s, p in ports.items()},
        **(extra or {}),
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
        stack.callback(stop, launcher)
        urls = {s: f"http://127.0.0.1:{p}" for s, p in ports.items()}
        await wait_ready(launcher, {s: u for s, u in urls.items() if s != "console"})
        await _console_ready(urls["console"])
        yield Launched(urls, secret, env, mail, listen)


async def _console_ready(url: str) -> None:
    async with httpx.AsyncClient(timeout=2) as client:
        for _ in range(150):
            try:
                if (await client.get(f"{url}/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError("the console did not start")
