"""Background loops: a pass every few seconds, its failures logged, stopped promptly on shutdown.

Every service's periodic work (timers, reminders, audits, retention, problem checks, the outbox
relay, the dead-letter gauge) runs through `every`, so each survives a failing pass the same way
and each ends the same way when the service stops: the lifespan cancels the task. Some client
libraries (aiosmtplib, aio-pika) can turn that cancellation into an error of their own or swallow
it; a loop therefore also stops once its task is being cancelled, whatever the pass raised.
"""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import NoReturn

from shared.errors import is_transient
from shared.logging import get_logger

log = get_logger(__name__)


async def every(
    seconds: float,
    one_pass: Callable[[], Awaitable[object]],
    failed: str,
    *,
    drain: bool = False,
    wake: asyncio.Event | None = None,
    pause_after_failure: float = 0.0,
) -> NoReturn:
    """Run `one_pass` now and then every `seconds` until the task is cancelled.

    With `drain`, a pass that returns something true (it found work, maybe not all of it) is
    followed at once by another. With `wake`, setting the event starts the next pass early. A
    pass that fails is logged as `failed` (a transient fault, such as the database or broker out
    of reach, as a warning; anything else with its traceback) and the loop carries on, after
    `pause_after_failure` if given.
    """
    while not stopping():
        try:
            while await one_pass() and drain and not stopping():
                pass
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if not stopping():  # else it is the shutdown's cancellation, as a library's error
                _log_failure(failed, exc)
                if pause_after_failure:
                    await asyncio.sleep(pause_after_failure)
        if not stopping():
            await _wait(seconds, wake)
    raise asyncio.CancelledError


def _log_failure(failed: str, exc: Exception) -> None:
    if is_transient(exc):
        log.warning(failed, error=repr(exc))
    else:
        log.exception(failed)


def stopping() -> bool:
    """The current task is being cancelled: shutdown was requested."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


async def _wait(seconds: float, wake: asyncio.Event | None) -> None:
    if wake is None:
        await asyncio.sleep(seconds)
        return
    # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancellation that
    # arrives as the wait ends, and the loop would then never stop.
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await wake.wait()
    wake.clear()
