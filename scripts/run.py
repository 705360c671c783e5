"""Start the whole system on this machine: `make run`.

Checks the broker, applies every service's migrations, starts a local mail sink for the
outbound customer emails, then the five services as separate processes, and prints where
everything is. Ctrl-C stops them all. Environment variables override every default
(see README), which is how the end-to-end tests start the same thing on free ports.
"""

import argparse
import os
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from infra import ensure_rabbitmq, reachable

ROOT = Path(__file__).resolve().parents[1]
SERVICES = {
    "intake": 8001,
    "escalation": 8002,
    "ownership": 8003,
    "confirmation": 8004,
    "analytics": 8005,
}


CONSOLE_PORT = 8000


def port_of(service: str) -> int:
    default = CONSOLE_PORT if service == "console" else SERVICES[service]
    return int(os.environ.get(f"{service.upper()}_PORT", default))


def console_env(env: dict[str, str], host: str) -> dict[str, str]:
    """The console calls each service where this script started it."""
    urls = {f"CONSOLE_{s.upper()}_URL": f"http://{host}:{port_of(s)}" for s in SERVICES}
    return {**urls, **env}


def prepare_databases(env: dict[str, str]) -> str:
    """Apply every service's migrations and seed the console's demo accounts, all at once (each
    database is its own); the accounts' lines."""
    code = (
        "import sys; from pathlib import Path; from shared.db import upgrade_database; "
        "from services.{s}.settings import {c}Settings as S; s = S(); "
        "upgrade_database(Path('services/{s}/migrations'), s.db_url)"
    )
    commands = [[sys.executable, "-c", code.format(s=s, c=s.capitalize())] for s in SERVICES]
    seed = subprocess.Popen(
        [sys.executable, "-m", "services.console.seed"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    migrations = [subprocess.Popen(c, cwd=ROOT, env=env) for c in commands]
    accounts, _ = seed.communicate()
    failed = [s for s, p in zip(SERVICES, migrations, strict=True) if p.wait() != 0]
    if seed.returncode != 0:
        failed.append("console")
    if failed:
        raise SystemExit(f"migrations failed for {', '.join(failed)}")
    return accounts


def ensure_broker_users(env: dict[str, str]) -> None:
    """Each service's own broker user (shared/brokerusers.py), unless its login is given."""
    sys.path.insert(0, str(ROOT))
    from shared.brokerusers import ensure_users, service_url

    missing = tuple(s for s in SERVICES if f"{s.upper()}_AMQP_URL" not in env)
    if not missing:
        return
    try:
        ensure_users(missing)
    except (OSError, RuntimeError) as exc:
        raise SystemExit(
            f"Could not create the broker users with rabbitmqctl ({exc}); create them "
            "(python -m shared.brokerusers --ensure) or set <SERVICE>_AMQP_URL for each service."
        ) from exc
    for service in missing:
        env[f"{service.upper()}_AMQP_URL"] = service_url(service)


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    log.parent.mkdir(parents=True, exist_ok=True)
    out = log.open("ab")
    return subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


def wait_ready(
    service: str, host: str, procs: list[subprocess.Popen[bytes]], seconds: float
) -> None:
    probe = "healthz" if service == "console" else "readyz"
    url = f"http://{host}:{port_of(service)}/{probe}"
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in procs):
            raise SystemExit(f"a process exited while starting; see var/log/{service}.log")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"{service} did not become ready at {url}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--no-mailsink",
        action="store_true",
        help="do not start the demo SMTP sink (SMTP_HOST/PORT point elsewhere)",
    )
    opts = parser.parse_args()
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "RUN_MIGRATIONS_ON_START": "false"}
    var = Path(env.setdefault("VAR_DIR", str(ROOT / "var")))
    host = env.get("HOST", "127.0.0.1")
    ensure_rabbitmq(env.get("AMQP_URL", "amqp://127.0.0.1:5672/"))
    ensure_broker_users(env)
    env = console_env(env, host)
    accounts = prepare_databases(env)
    procs: list[subprocess.Popen[bytes]] = []
    if not opts.no_mailsink:
        smtp_port = int(env.get("CONFIRMATION_SMTP_PORT", env.get("SMTP_PORT", "1025")))
        if not reachable("127.0.0.1", smtp_port):
            procs.append(
                start(
                    [
                        sys.executable,
                        "scripts/mailsink.py",
                        "--port",
                        str(smtp_port),
                        "--dir",
                        str(var / "mail"),
                    ],
                    env,
                    var / "log" / "mailsink.log",
                )
            )
    for service in [*SERVICES, "console"]:
        procs.append(
            start(
                [sys.executable, "-m", f"services.{service}"], env, var / "log" / f"{service}.log"
            )
        )

    def stop(*_: object) -> None:
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        # The first wait covers all of them starting at once; a loaded 2-core machine needs it.
        for service in [*SERVICES, "console"]:
            wait_ready(service, host, procs, 150)
    except SystemExit:
        stop_quietly(procs)
        raise
    print_banner(host, var, accounts)
    while all(p.poll() is None for p in procs):
        time.sleep(0.5)
    print("a process stopped; stopping the others (see var/log/)", file=sys.stderr)
    stop()


def stop_quietly(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        if p.poll() is None:
            p.terminate()
            p.wait(10)


def print_banner(host: str, var: Path, accounts: str) -> None:
    from shared.auth import DEFAULT_TTL, mint_token
    from shared.settings import DEV_AUTH_SECRET

    secret = os.environ.get("AUTH_SECRET", DEV_AUTH_SECRET)
    lines = ["", "The five services and the console are ready:"]
    lines += [f"  {s:<13} http://{host}:{port_of(s)}/docs" for s in SERVICES]
    listen = os.environ.get("CONFIRMATION_SMTP_LISTEN_PORT", "2525")
    lines += [
        f"  customer replies (SMTP)  {host}:{listen}",
        "  complaints by email      RCPT TO "
        + os.environ.get("CONFIRMATION_COMPLAINTS_ADDRESS", "complaints@complaints.localhost")
        + f" on {host}:{listen}",
        f"  outbound customer email  {var / 'mail'}/*.eml",
        f"  logs                     {var / 'log'}/*.log",
        f"  auditors (supervisor)    {', '.join(_auditors()) or 'none: audits are off'}",
        "",
        "Development tokens (Authorization: Bearer ...), valid for 8 hours, until "
        + (datetime.now(UTC) + DEFAULT_TTL).strftime("%Y-%m-%d %H:%M UTC")
        + ":",
    ]
    for role, subject in [
        ("frontend", "desk-1"),
        ("supervisor", "sam"),
        ("admin", "root"),
        ("analyst", "bi"),
        ("owner", "alice"),
        ("department", "finance"),
        ("data_protection", "dpo"),
    ]:
        lines.append(f"  {role:<15} {subject:<8} {mint_token(secret, role, subject)}")
    lines += ["", "Mint others: .venv/bin/python -m shared.auth owner <owner-id>"]
    lines += [
        "",
        f"The console: http://{host}:{port_of('console')}/  accounts (role, username, password):",
    ]
    lines += [f"  {line}" for line in accounts.splitlines()]
    lines += ["", "Ctrl-C stops."]
    print("\n".join(lines), flush=True)


def _auditors() -> list[str]:
    """Who audits closures: AUDITORS, else the demo organisation's config/auditors.toml."""
    from services.confirmation.settings import ConfirmationSettings

    return ConfirmationSettings().auditor_ids


if __name__ == "__main__":
    main()
