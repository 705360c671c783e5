"""The five services as `make run` starts them, one OS process each, on the private servers."""

import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.faults.infra import PrivatePostgres, PrivateRabbit
from tests.support.mail import free_port

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ["intake", "escalation", "ownership", "confirmation", "analytics"]

_MIGRATE = (
    "from pathlib import Path; from shared.db import upgrade_database; "
    "from services.{s}.settings import {c}Settings as S; "
    "upgrade_database(Path('services/{s}/migrations'), S().db_url)"
)


class Services:
    def __init__(self, base: Path, pg: PrivatePostgres, rabbit: PrivateRabbit, smtp_port: int):
        self.log_dir = base / "log"
        self.secret = secrets.token_urlsafe(32)
        self.ports = {s: free_port() for s in SERVICES}
        self.smtp_listen_port = free_port()
        self.env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "RUN_MIGRATIONS_ON_START": "false",
            "APP_ENV": "test",
            "AUTH_SECRET": self.secret,
            "VAR_DIR": str(base / "var"),
            "OUTBOX_POLL_SECONDS": "0.05",
            # One loopback peer sends every customer's reply:
            # the per-peer SMTP limit would refuse them.
            "CONFIRMATION_SMTP_RATE_PER_MINUTE": "1000000",
            "CONFIRMATION_SMTP_PORT": str(smtp_port),
            "CONFIRMATION_SMTP_LISTEN_PORT": str(self.smtp_listen_port),
        }
        self.rabbit = rabbit
        for s in SERVICES:
            self.env[f"{s.upper()}_DATABASE_URL"] = pg.url(f"faults_{s}")
            self.env[f"{s.upper()}_PORT"] = str(self.ports[s])
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def env_for(self, service: str) -> dict[str, str]:
        url = self.rabbit.url_for(service)
        # The per-service name wins over AMQP_URL; a test session sets it for the shared broker.
        return {**self.env, "AMQP_URL": url, f"{service.upper()}_AMQP_URL": url}

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def migrate(self) -> None:
        for s in SERVICES:
            subprocess.run(
                [sys.executable, "-c", _MIGRATE.format(s=s, c=s.capitalize())],
                cwd=ROOT,
                env=self.env_for(s),
                check=True,
            )

    def start(self, service: str) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with (self.log_dir / f"{service}.log").open("ab") as out:
            self.procs[service] = subprocess.Popen(
                [sys.executable, "-m", f"services.{service}"],
                cwd=ROOT,
                env=self.env_for(service),
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self, service: str, seconds: float = 90) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.procs[service].poll() is not None:
                raise RuntimeError(f"{service} exited; see {self.log_dir}/{service}.log")
            try:
                with urllib.request.urlopen(f"{self.url(service)}/readyz", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{service} not ready in {seconds} s")

    def start_all(self) -> None:
        self.migrate()
        for s in SERVICES:
            self.start(s)
        for s in SERVICES:
            self.wait_ready(s)

    def kill9(self, service: str) -> None:
        proc = self.procs[service]
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)

    def close(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
