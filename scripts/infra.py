"""Make sure RabbitMQ (and, for tests, PostgreSQL) answer; start the local ones if installed.

`--chromium` also makes sure the browser tests have Debian's Chromium (and a font for the
console's Chinese pages), installing them with apt-get when they are missing."""

import contextlib
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


def answers_amqp(host: str, port: int, timeout: float = 15.0) -> bool:
    """Whether the broker starts the AMQP handshake: a node can accept TCP and answer nothing."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as conn:
            conn.sendall(b"AMQP\x00\x00\x09\x01")
            return conn.recv(7)[:1] == b"\x01"  # a method frame: connection.start
    except OSError:
        return False


# Each quorum queue holds file handles; the suites declare and delete thousands of queues and a
# node left at the usual default of 1024 descriptors stops accepting connections when its file
# handle cache is full (RabbitMQ's own guidance is at least 50,000 in production).
WANTED_FILE_HANDLES = 20_000


def _rabbitmqctl_eval(expression: str) -> str | None:
    try:
        done = subprocess.run(
            ["rabbitmqctl", "eval", expression], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def start_local_rabbitmq() -> None:
    """`rabbitmq-server -detached`, as the broker's own user with the descriptors it needs."""
    if os.geteuid() == 0 and shutil.which("su"):
        raise_to = f"ulimit -n {WANTED_FILE_HANDLES} 2>/dev/null || ulimit -n $(ulimit -Hn)"
        command = f"{raise_to}; cd /var/lib/rabbitmq 2>/dev/null; rabbitmq-server -detached"
        subprocess.run(["su", "rabbitmq", "-s", "/bin/sh", "-c", command], check=False)
    else:
        subprocess.run(["rabbitmq-server", "-detached"], check=False)


def widen_file_handles() -> None:
    """Raise a running local node's descriptor limit and its file handle cache to match."""
    limit = _rabbitmqctl_eval("file_handle_cache:get_limit().")
    pid = _rabbitmqctl_eval("os:getpid().")
    if limit is None or pid is None or not limit.isdigit():
        return
    if int(limit) >= WANTED_FILE_HANDLES // 2:
        return
    pid = pid.strip('"')
    hard = WANTED_FILE_HANDLES
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            hard = min(hard, int(line.split()[4]) if line.split()[4].isdigit() else hard)
    raise_it = f"prlimit --pid {pid} --nofile={hard}:{hard}"
    runner = ["su", "rabbitmq", "-s", "/bin/sh", "-c", raise_it] if os.geteuid() == 0 else None
    if runner is None or subprocess.run(runner, check=False).returncode != 0:
        print(f"warning: RabbitMQ's file handle limit is {limit}; start it with `ulimit -n 20000`")
        return
    _rabbitmqctl_eval(f"file_handle_cache:set_limit({hard - 100}).")
    print(f"RabbitMQ's file handle limit raised from {limit} to {hard - 100}")


def restart_local_rabbitmq() -> None:
    print("RabbitMQ accepts connections but does not answer the handshake; restarting it ...")
    with contextlib.suppress(subprocess.TimeoutExpired):
        subprocess.run(["rabbitmqctl", "stop"], check=False, timeout=120)
    start_local_rabbitmq()


def ensure_rabbitmq(amqp_url: str) -> None:
    parsed = urlparse(amqp_url)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or 5672
    local = host in ("127.0.0.1", "localhost")
    managed = local and shutil.which("rabbitmqctl") is not None
    if reachable(host, port):
        if managed:
            widen_file_handles()
        if answers_amqp(host, port):
            return
        if managed:
            restart_local_rabbitmq()
            if wait_until(host, port, 90) and answers_amqp(host, port):
                return
        sys.exit(f"RabbitMQ at {host}:{port} accepts connections but does not answer AMQP.")
    if local and shutil.which("rabbitmq-server"):
        print(f"RabbitMQ is not answering on {host}:{port}; starting the local server ...")
        start_local_rabbitmq()
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


# The browser tests drive this Chromium (CHROMIUM overrides it), never a downloaded build.
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
# A CJK font, so that screenshots of the Chinese pages show characters rather than boxes.
CJK_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")


def ensure_chromium() -> None:
    """Debian's `chromium` (and `fonts-wqy-microhei`) for the browser tests, from apt-get."""
    missing = [
        package
        for package, path in (("chromium", CHROMIUM), ("fonts-wqy-microhei", CJK_FONT))
        if not path.exists()
    ]
    if not missing:
        return
    command = ["apt-get", "install", "-y", "--no-install-recommends", *missing]
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        sys.exit(
            f"The browser tests need {', '.join(missing)} ({CHROMIUM} for Chromium; CHROMIUM "
            f"names another). Install it as root: apt-get update && {' '.join(command)}"
        )
    print(f"Installing {', '.join(missing)} for the browser tests: apt-get update && ...")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for step in (["apt-get", "update", "-q"], command):
        print("+ " + " ".join(step), flush=True)
        if subprocess.run(step, env=env, check=False).returncode != 0:
            sys.exit(f"`{' '.join(step)}` failed: the browser tests cannot run without Chromium.")
    if not CHROMIUM.exists():
        sys.exit(f"apt-get installed chromium, yet {CHROMIUM} is missing (set CHROMIUM).")
    print(f"Chromium ready at {CHROMIUM}")


if __name__ == "__main__":
    ensure_rabbitmq(os.environ.get("AMQP_URL", "amqp://127.0.0.1:5672/"))
    if "--postgres" in sys.argv:
        ensure_postgres()
    if "--chromium" in sys.argv:
        ensure_chromium()
    print("infrastructure ready")
