"""The retry schedule and which failures are worth retrying."""

import asyncpg
import pytest
from sqlalchemy import exc as sa_exc

from shared.errors import NotFound, RetryLater, is_transient
from shared.retries import is_retryable
from shared.settings import ServiceSettings, retry_schedule


def test_the_default_schedule_doubles_up_to_an_hour_and_lasts_a_day() -> None:
    waits = ServiceSettings().retry_schedule
    assert waits[:4] == [1.0, 2.0, 4.0, 8.0]
    assert max(waits) == 3600.0
    assert 86400 <= sum(waits) < 86400 + 3600
    assert waits == sorted(waits)


def test_an_explicit_schedule_wins() -> None:
    assert ServiceSettings(bus_retry_schedule="0.2, 0.4,0.8").retry_schedule == [0.2, 0.4, 0.8]
    assert retry_schedule(0.5, 1.0, 3.0) == [0.5, 1.0, 1.0, 1.0]


def _dbapi(cls: type[sa_exc.DBAPIError], sqlstate: str | None) -> sa_exc.DBAPIError:
    orig = Exception("driver error")
    orig.sqlstate = sqlstate  # type: ignore[attr-defined]
    return cls("SELECT 1", {}, orig)


@pytest.mark.parametrize(
    "fault",
    [
        ConnectionRefusedError("refused"),
        TimeoutError(),
        _dbapi(sa_exc.OperationalError, None),
        _dbapi(sa_exc.InterfaceError, None),
        _dbapi(sa_exc.DBAPIError, "57P01"),  # admin shutdown
        _dbapi(sa_exc.DBAPIError, "08006"),  # connection failure
        _dbapi(sa_exc.DBAPIError, "40001"),  # serialization failure
        asyncpg.exceptions.CannotConnectNowError("starting up"),
        asyncpg.exceptions.ObjectNotInPrerequisiteStateError("not accepting connections"),
    ],
)
def test_outages_are_transient(fault: BaseException) -> None:
    assert is_transient(fault) and is_retryable(fault)


@pytest.mark.parametrize(
    "fault",
    [
        ValueError("a bug"),
        _dbapi(sa_exc.DataError, "22001"),  # value too long
        _dbapi(sa_exc.ProgrammingError, "42P01"),  # no such table
        _dbapi(sa_exc.IntegrityError, "23503"),  # foreign key
    ],
)
def test_bugs_and_bad_data_are_permanent(fault: BaseException) -> None:
    assert not is_retryable(fault)


def test_races_and_events_ahead_of_their_subject_are_retried_without_pausing() -> None:
    for fault in (
        _dbapi(sa_exc.IntegrityError, "23505"),
        NotFound("case_not_found", "No case."),
        RetryLater("not yet"),
    ):
        assert is_retryable(fault) and not is_transient(fault)
