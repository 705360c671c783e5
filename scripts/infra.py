"""Make sure RabbitMQ (and, for tests, PostgreSQL) answer; start the local ones if installed."""

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse


def reachable(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_until(host: str, port: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if reachable(host, port):
            return True
        time.sleep(0.5)
    return False


def ensure_rabbitmq(amqp_url: str) -> None:
    parsed = urlparse(amqp_url)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or 5672
    if reachable(host, port):
        return
    local = host in ("127.0.0.1", "localhost")
    if local and shutil.which("rabbitmq-server"):
        print(f"RabbitMQ is not answering on {host}:{port}; starting the local server ...")
        subprocess.run(["rabbitmq-server", "-detached"], check=False)
        if wait_until(host, port, 90):
            return
    sys.exit(
        f"RabbitMQ is not reachable at {host}:{port} (AMQP_URL={amqp_url}).\n"
        "Start it (e.g. `rabbitmq-server -detached`, or `docker compose up -d rabbitmq`) "
        "or point AMQP_URL at a running broker."
    )


def ensure_postgres(host: str = "127.0.0.1", port: int = 5432) -> None:
    if reachable(host, port):
        return
    clusters = Path("/etc/postgresql")
    if clusters.is_dir() and shutil.which("pg_ctlcluster"):
        for version in sorted(p.name for p in clusters.iterdir()):
            print(f"PostgreSQL is not answering on {host}:{port}; starting cluster {version} ...")
            subprocess.run(
                ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"],
                check=False,
            )
        if wait_until(host, port, 60):
            return
    sys.exit(
        f"PostgreSQL is not reachable at {host}:{port}; the tests need it "
        "(a database `test` the current user may create databases from)."
    )


if __name__ == "__main__":
    ensure_rabbitmq(os.environ.get("AMQP_URL", "amqp://127.0.0.1:5672/"))
    if "--postgres" in sys.argv:
        ensure_postgres()
    print("infrastructure ready")
