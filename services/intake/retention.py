"""Intake's data-protection pass: waiting erasures that may now go ahead, and customers whose
retention period has run out since their last complaint closed."""

from datetime import UTC, datetime

from services.intake import erasure
from services.intake.settings import IntakeRuntime
from shared.loops import every


async def run_once(rt: IntakeRuntime, now: datetime) -> int:
    """One pass; how many requests it filed or sent."""
    settings = rt.settings
    done = 0
    async with rt.uow() as uow:
        for request_id in await erasure.waiting_requests(uow.conn):
            done += await erasure.proceed_if_free(uow, request_id)
        await uow.commit()
    async with rt.engine.connect() as conn:
        due = await erasure.due_for_retention(conn, now, settings.retention_days)
    for customer_id in due:
        async with rt.uow() as uow:
            await erasure.request_erasure(uow, customer_id, "retention", "retention")
            await uow.commit()
        done += 1
    return done


async def retention_worker(rt: IntakeRuntime) -> None:
    seconds = rt.settings.erasure_poll_seconds
    await every(seconds, lambda: run_once(rt, datetime.now(UTC)), "erasure_pass_failed")
