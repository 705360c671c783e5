"""Processes of a benchmark: start, wait until ready, stop; their memory; the machine."""

import asyncio
import os
import platform
import subprocess
import sys
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, *args], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


async def wait_ready(urls: list[str], proc: subprocess.Popen[bytes], seconds: float = 90) -> None:
    async with httpx.AsyncClient(timeout=2) as client:
        for _ in range(int(seconds * 5)):
            if proc.poll() is not None:
                raise RuntimeError(f"{proc.args} exited with {proc.returncode}")
            try:
                codes = [(await client.get(f"{u}/readyz")).status_code for u in urls]
                if all(c == 200 for c in codes):
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError(f"not ready: {urls}")


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def _memory_mb(pid: int) -> tuple[float, float]:
    """(resident now, peak resident) in MB, from /proc/<pid>/status."""
    values = {"VmRSS": 0.0, "VmHWM": 0.0}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key = line.split(":", 1)[0]
            if key in values:
                values[key] = int(line.split()[1]) / 1024
    except OSError:
        pass
    return values["VmRSS"], values["VmHWM"]


def _command(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "?"
    parts = [p.decode(errors="replace") for p in raw.split(b"\0") if p]
    if "-m" in parts:
        return parts[parts.index("-m") + 1]
    return " ".join(Path(p).name if p.startswith("/") else p for p in parts[:3])


def memory_of_tree(root: int) -> list[tuple[int, str, float, float]]:
    """(pid, what it runs, RSS MB, peak RSS MB) of `root` and every process below it."""
    tree, found, todo = _children(), [], [(root, "")]
    while todo:
        pid, parent = todo.pop(0)
        what = _command(pid)
        if what.startswith("python -B -c") and parent:  # a multiprocessing (uvicorn) worker
            what = f"{parent} worker"
        found.append((pid, what, *_memory_mb(pid)))
        todo += [(child, what) for child in sorted(tree.get(pid, []))]
    return found


def machine() -> str:
    model = "unknown processor"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()
    return (
        f"{model}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}; load average at start {load[0]:.2f}"
    )
