"""The background-loop runner: a failing pass does not end the loop, and a shutdown does."""

import asyncio

import pytest
import structlog

from shared.loops import every


async def test_a_failing_pass_is_logged_and_the_loop_goes_on() -> None:
    passes: list[int] = []

    async def flaky() -> None:
        passes.append(len(passes))
        if len(passes) == 1:
            raise ValueError("boom")

    with structlog.testing.capture_logs() as logs:
        task = asyncio.create_task(every(0.001, flaky, "flaky_pass_failed"))
        while len(passes) < 3:
            await asyncio.sleep(0.001)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert [e["event"] for e in logs] == ["flaky_pass_failed"]
    assert logs[0]["log_level"] == "error"


async def test_drain_runs_again_at_once_while_a_pass_finds_work() -> None:
    work = [3]

    async def take() -> bool:
        work[0] -= 1
        return work[0] > 0

    task = asyncio.create_task(every(3600, take, "take_failed", drain=True))
    while work[0] > 0:
        await asyncio.sleep(0.001)
    await asyncio.sleep(0.01)
    assert work == [0]  # three passes at once, then the hour's wait
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_a_wake_starts_the_next_pass_early() -> None:
    wake, passes = asyncio.Event(), [0]

    async def count() -> None:
        passes[0] += 1

    task = asyncio.create_task(every(3600, count, "count_failed", wake=wake))
    await asyncio.sleep(0.01)
    wake.set()
    await asyncio.sleep(0.01)
    assert passes == [2]
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_the_loop_stops_when_a_library_turns_cancellation_into_its_own_error() -> None:
    started = asyncio.Event()

    async def swallowing() -> None:
        started.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            raise ConnectionError("closed while connecting") from None

    with structlog.testing.capture_logs() as logs:
        task = asyncio.create_task(every(3600, swallowing, "swallowing_failed"))
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, 1.0)
    assert logs == []
