"""The broker's users: one per service, allowed to write only the routing keys it owns.

`make run` and the test set-up create them with `rabbitmqctl` (idempotent); docker compose loads
the same users from `config/rabbitmq/definitions.json` (`python -m shared.brokerusers`). The
development passwords are fixed and public: production supplies its own `<SERVICE>_AMQP_URL`.
"""

import base64
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

from shared.publishers import SERVICES, write_pattern

VHOST = "/"
EXCHANGE = "complaints"
# The exchange is `complaints`, in tests `complaints.t<run>`; queues are `<service>[.dlq]`, in
# tests `t<run>.<service>[.dlq]`.
EXCHANGES = r"complaints(\..*)?"
DEFINITIONS = Path(__file__).resolve().parent.parent / "config" / "rabbitmq" / "definitions.json"


def development_password(service: str) -> str:
    return f"{service}-development-broker-password"


def resource_pattern(service: str) -> str:
    """Configure/read on the service's own queues and the exchange (not others' queues)."""
    return rf"^(t[0-9a-f]+\.)?{service}(\..*)?$|^{EXCHANGES}$"


def write_resource_pattern(service: str) -> str:
    """Also the default exchange: a queue's dead-letter exchange ("") needs write at declaration.

    What a service could send there directly reaches consumers under a queue's name as routing
    key, which they refuse (shared/provenance.py).
    """
    return resource_pattern(service) + r"|^amq\.default$"


def service_url(service: str, host: str = "127.0.0.1", port: int = 5672) -> str:
    password = quote(development_password(service), safe="")
    return f"amqp://{service}:{password}@{host}:{port}/"


def _ctl(*args: str, node: str | None = None) -> subprocess.CompletedProcess[str]:
    where = ["-n", node] if node else []
    command = ["rabbitmqctl", *where, *args]
    return subprocess.run(command, capture_output=True, text=True, check=False)


def ensure_users(
    services: tuple[str, ...] = SERVICES, exchange: str = EXCHANGE, node: str | None = None
) -> None:
    """Create each service's user with its permissions and topic permissions on `exchange`.

    Idempotent and quick when nothing changed: it reads what the broker has first (each
    `rabbitmqctl` call starts an Erlang VM, about a second).
    """
    users = {r[0] for r in _rows("list_users", node=node)}
    permissions = {r[0]: tuple(r[1:4]) for r in _rows("list_permissions", "-p", VHOST, node=node)}
    for service in services:
        if service not in users:
            _check(_ctl("add_user", service, development_password(service), node=node), service)
        wanted = (
            resource_pattern(service),
            write_resource_pattern(service),
            resource_pattern(service),
        )
        if permissions.get(service) != wanted:
            _check(_ctl("set_permissions", "-p", VHOST, service, *wanted, node=node), service)
    grant_topics(exchange, services, node)


def grant_topics(
    exchange: str, services: tuple[str, ...] = SERVICES, node: str | None = None
) -> None:
    """Topic permissions on one exchange (RabbitMQ keys them by the exchange's exact name)."""
    listed = _rows("list_topic_permissions", "-p", VHOST, node=node)
    present = {(r[0], r[1]): tuple(r[2:4]) for r in listed}
    for service in services:
        wanted = (write_pattern(service), ".*")
        if present.get((service, exchange)) != wanted:
            granted = _ctl(
                "set_topic_permissions", "-p", VHOST, service, exchange, *wanted, node=node
            )
            _check(granted, service)


def _rows(*args: str, node: str | None = None) -> list[list[str]]:
    result = _ctl(*args, "-q", "--no-table-headers", node=node)
    _check(result, args[0])
    return [line.split("\t") for line in result.stdout.splitlines() if line.strip()]


def _check(result: subprocess.CompletedProcess[str], service: str) -> None:
    if result.returncode != 0:
        raise RuntimeError(f"rabbitmqctl for {service}: {result.stderr.strip()}")


def _password_hash(password: str, salt: bytes) -> str:
    """RabbitMQ's rabbit_password_hashing_sha256: base64(salt + sha256(salt + password))."""
    digest = hashlib.sha256(salt + password.encode()).digest()
    return base64.b64encode(salt + digest).decode()


def definitions() -> dict[str, object]:
    """The users as a RabbitMQ definitions file; no guest (loading definitions replaces it)."""
    users, permissions, topics = [], [], []
    for service in SERVICES:
        password = os.environ.get(f"{service.upper()}_BROKER_PASSWORD") or development_password(
            service
        )
        salt = hashlib.sha256(service.encode()).digest()[:4]
        users.append(
            {
                "name": service,
                "password_hash": _password_hash(password, salt),
                "hashing_algorithm": "rabbit_password_hashing_sha256",
                "tags": [],
            }
        )
        pattern = resource_pattern(service)
        permissions.append(
            {
                "user": service,
                "vhost": VHOST,
                "configure": pattern,
                "write": write_resource_pattern(service),
                "read": pattern,
            }
        )
        topics.append(
            {
                "user": service,
                "vhost": VHOST,
                "exchange": EXCHANGE,
                "write": write_pattern(service),
                "read": ".*",
            }
        )
    return {
        "users": users,
        "vhosts": [{"name": VHOST}],
        "permissions": permissions,
        "topic_permissions": topics,
    }


if __name__ == "__main__":
    if "--ensure" in sys.argv:
        ensure_users()
        print("broker users ready: " + ", ".join(SERVICES))
    else:
        DEFINITIONS.parent.mkdir(parents=True, exist_ok=True)
        DEFINITIONS.write_text(json.dumps(definitions(), indent=2) + "\n")
        print(f"wrote {DEFINITIONS}")
