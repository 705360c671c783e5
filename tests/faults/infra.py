"""Private PostgreSQL and RabbitMQ servers for the fault suite.

The suite stops and restarts its servers, so it never uses the shared ones: it starts its own
in a temporary directory, on free ports, and removes them when it ends (even after a failure).
"""

import os
import shutil
import subprocess
import time
from pathlib import Path

import asyncpg

from shared import brokerusers
from tests.support.mail import free_port

PG_BIN = Path(os.environ.get("FAULTS_PG_BIN", "/usr/lib/postgresql/15/bin"))


def _as_postgres(*args: str) -> list[str]:
    """PostgreSQL refuses to run as root: its tools run as the `postgres` OS user."""
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else list(args)


class PrivatePostgres:
    def __init__(self, base: Path):
        self.data = base / "pg"
        self.socket = base / "pgsock"
        self.log = base / "log" / "postgresql.log"
        self.port = free_port()

    def _ctl(self, *args: str) -> None:
        subprocess.run(
            _as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), *args),
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def start(self) -> None:
        for d in (self.data, self.socket):
            d.mkdir(parents=True)
        self.log.parent.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.data, "postgres")
            shutil.chown(self.socket, "postgres")
            self.log.touch()
            shutil.chown(self.log, "postgres")
        subprocess.run(
            _as_postgres(
                str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres"
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"port = {self.port}\nlisten_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.socket}'\nfsync = off\n"
                "max_connections = 300\n"
            )
        self.up()

    def up(self) -> None:
        self._ctl("-l", str(self.log), "-w", "start")

    def down(self) -> None:
        self._ctl("-m", "fast", "-w", "stop")

    def restart(self) -> None:
        self._ctl("-l", str(self.log), "-m", "fast", "-w", "restart")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def close(self) -> None:
        if self.running():
            self._ctl("-m", "immediate", "-w", "stop")

    def dsn(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    async def create_databases(self, names: list[str]) -> None:
        conn = await asyncpg.connect(self.dsn())
        try:
            for name in names:
                await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()


class PrivateRabbit:
    def __init__(self, base: Path):
        self.base = base / "rabbitmq"
        self.node = f"faults-{os.getpid()}@localhost"
        self.port = free_port()
        self.dist_port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def _ctl(self, *args: str, check: bool = True) -> None:
        subprocess.run(
            ["rabbitmqctl", "-n", self.node, *args],
            check=check,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=120,
        )

    def start(self) -> None:
        for sub in ("mnesia", "log"):
            (self.base / sub).mkdir(parents=True)
        plugins = self.base / "plugins"
        plugins.write_text("")  # no management plugin: nothing listens but AMQP
        if os.geteuid() == 0:
            # rabbitmq-server drops to the rabbitmq user when started as root.
            for p in (self.base, self.base / "mnesia", self.base / "log", plugins):
                shutil.chown(p, "rabbitmq", "rabbitmq")
        env = {
            **os.environ,
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(self.base / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.base / "log"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(plugins),
            "RABBITMQ_CONFIG_FILE": str(self.base / "rabbitmq"),
        }
        with (self.base / "server.out").open("ab") as out:
            self.process = subprocess.Popen(
                ["rabbitmq-server"], env=env, stdout=out, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 90
        while True:  # await_startup fails at once while the node is not yet reachable
            try:
                self._ctl("await_startup", "--timeout", "90")
                # Each service logs in as itself, as `make run` sets it up.
                brokerusers.ensure_users(node=self.node)
                return
            except subprocess.CalledProcessError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise
                time.sleep(1)

    def restart(self, down_seconds: float) -> None:
        self._ctl("stop_app")
        time.sleep(down_seconds)
        self._ctl("start_app")

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self._ctl("stop", check=False)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
            self.process = None

    @property
    def admin_url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    def url_for(self, service: str) -> str:
        """The broker URL a service logs in with: its own user on this node."""
        return brokerusers.service_url(service, "127.0.0.1", self.port)
