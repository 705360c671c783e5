"""Services as real OS processes, as `make run` starts them, for tests of several replicas."""

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from tests.support.mail import free_port

ROOT = Path(__file__).resolve().parents[2]


class Replica:
    """One process of a service (`python -m services.<service>`), its output in `log`."""

    def __init__(self, service: str, env: dict[str, str], log: Path):
        self.service, self.env, self.log = service, env, log
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    async def start(self) -> None:
        """Start it and wait until it is ready (its database and the broker reachable)."""
        env = {**self.env, f"{self.service.upper()}_PORT": str(self.port)}
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", f"services.{self.service}"],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = asyncio.get_running_loop().time() + 30
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{self.port}") as client:
            while True:
                assert self.process.poll() is None, self.log.read_text()[-3000:]
                try:
                    if (await client.get("/readyz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                assert asyncio.get_running_loop().time() < deadline, self.log.read_text()[-3000:]
                await asyncio.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL: no drain, no shutdown hook, whatever was in flight is lost."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
