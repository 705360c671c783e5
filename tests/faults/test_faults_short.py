"""The short fault suite inside `make test`: PostgreSQL and RabbitMQ restarts and kill -9 of two
services under load, on private servers; nothing may be lost, duplicated or dead-lettered."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e


def test_short_fault_suite_loses_nothing() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tests.faults.suite", "--short"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-5000:]
    assert "0 lost, 0 duplicated, 0 dead-lettered" in result.stdout, result.stdout
