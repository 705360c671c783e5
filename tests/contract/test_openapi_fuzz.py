"""Every operation of the five services, fuzzed from its OpenAPI document with every check.

Each service runs as it does in production (uvicorn, its lifespan, its consumers, the real
broker) on SQLite; a few generated requests per operation keep the run under a minute.
"""

import asyncio
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import requests
import schemathesis
import uvicorn
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import positive_data_acceptance

from services.analytics.app import create_app as analytics_app
from services.analytics.settings import AnalyticsSettings
from services.confirmation.app import create_app as confirmation_app
from services.confirmation.settings import ConfirmationSettings
from services.escalation.app import create_app as escalation_app
from services.escalation.settings import EscalationSettings
from services.intake.app import create_app as intake_app
from services.intake.settings import IntakeSettings
from services.ownership.app import create_app as ownership_app
from services.ownership.settings import OwnershipSettings
from shared.settings import ServiceSettings
from tests.support.env import TestEnv
from tests.support.mail import free_port
from tests.support.services import auth, common_settings

# Generated requests per operation and role: enough to reach past validation, bounded in time.
EXAMPLES = 4
# A schema-valid request may still be refused on grounds the schema cannot say (a period that
# ends before it starts, a year before any complaint): a 4xx there is an answer, not a fault.
EXCLUDED = [positive_data_acceptance]
# The role that may do the most in each service; others are refused before any handler runs.
ROLE = {
    "intake": "frontend",
    "escalation": "supervisor",
    "ownership": "owner",
    "confirmation": "frontend",
    "analytics": "analyst",
}


def build(service: str, env: TestEnv) -> tuple[FastAPI, ServiceSettings]:
    url = f"sqlite+aiosqlite:///{env.tmp / (service + '.db')}"
    common = common_settings(env, url)
    made: ServiceSettings
    if service == "intake":
        made = IntakeSettings(**common)
        return intake_app(made), made
    if service == "escalation":
        made = EscalationSettings(**common)
        return escalation_app(made), made
    if service == "ownership":
        made = OwnershipSettings(**common)
        return ownership_app(made), made
    if service == "confirmation":
        made = ConfirmationSettings(**common, smtp_port=free_port(), smtp_listen_port=free_port())
        return confirmation_app(made), made
    made = AnalyticsSettings(**common)
    return analytics_app(made), made


@contextmanager
def served(app: FastAPI) -> Iterator[str]:
    """The app on a free port in its own thread and event loop; its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    try:
        for _ in range(600):
            if server.started:
                break
            if not thread.is_alive():
                raise RuntimeError("the service did not start")
            threading.Event().wait(0.05)
        else:
            raise RuntimeError("the service did not start in 30 s")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


def fuzz(operation: Any, call: Callable[[Any], None]) -> None:
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def run(case: Any) -> None:
        call(case)

    run()


@pytest.fixture
def backend() -> str:
    return "sqlite"


@pytest.mark.parametrize("service", sorted(ROLE))
async def test_no_operation_breaks_its_contract(service: str, env: TestEnv) -> None:
    app, made = build(service, env)
    headers = auth(made, ROLE[service])

    def check(base_url: str) -> None:
        schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
        session = requests.Session()
        failures: list[str] = []
        calls: list[int] = []
        for result in schema.get_all_operations():
            assert isinstance(result, Ok)  # an Err is a schema that could not be read
            operation = result.ok()

            def call(case: Any) -> None:
                calls.append(1)
                case.call_and_validate(
                    base_url=base_url,
                    session=session,
                    headers=headers,
                    excluded_checks=EXCLUDED,
                )

            try:
                fuzz(operation, call)
            except Exception as error:  # every operation is tried; all failures are reported
                failures.append(f"{operation.label}: {error}")
        assert not failures, "\n\n".join(failures)
        operations = len(list(schema.get_all_operations()))
        assert operations and len(calls) >= operations, (operations, len(calls))

    with served(app) as base_url:
        await asyncio.to_thread(check, base_url)
