"""The KPI endpoint's contract: refused queries and who may read it."""

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.support.analytics import at, started
from tests.support.env import Database, TestEnv
from tests.support.services import app_of, auth


@pytest.fixture
async def analytics(env: TestEnv, database: Database) -> AsyncIterator[httpx.AsyncClient]:
    async with started(env, database) as client:
        yield client


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"group_by": "colour"}, "invalid_group_by"),
        ({"from": at(2).isoformat(), "to": at(1).isoformat()}, "invalid_period"),
        ({"from": "last tuesday"}, "validation_error"),
        ({"to": "0.5"}, "validation_error"),
        ({"from": "1700000000"}, "validation_error"),
    ],
)
async def test_bad_kpi_queries_are_refused_with_a_code(
    analytics: httpx.AsyncClient, params: dict[str, str], code: str
) -> None:
    response = await analytics.get("/v1/kpis", params=params)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == code


async def test_kpis_are_for_analysts_supervisors_and_admins(analytics: httpx.AsyncClient) -> None:
    settings = app_of(analytics).state.settings
    for role in ("analyst", "supervisor", "admin"):
        assert (await analytics.get("/v1/kpis", headers=auth(settings, role))).status_code == 200
    for role in ("owner", "frontend", "department"):
        refused = await analytics.get("/v1/kpis", headers=auth(settings, role))
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    assert (await analytics.get("/v1/kpis", headers={"Authorization": ""})).status_code == 401
