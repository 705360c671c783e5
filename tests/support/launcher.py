"""The system as `make run` starts it, from a test: scripts/run.py's process, ready or stopped."""

import asyncio
import signal
import subprocess
from pathlib import Path

import httpx

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
