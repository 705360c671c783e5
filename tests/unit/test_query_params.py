"""Every route of every service refuses a query parameter it does not declare."""

import re
from typing import Annotated

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, Query
from pydantic import BaseModel

from services.registry import APPS
from shared import query_params
from shared.errors import install_error_handlers


def routes(name: str) -> list[tuple[str, str]]:
    """Every operation the service documents, with its path parameters filled in."""
    paths = APPS[name]().openapi()["paths"]
    return [
        (method.upper(), re.sub(r"\{[^}]+\}", "x", path))
        for path, operations in paths.items()
        for method in operations
    ]


@pytest.mark.parametrize("name", sorted(APPS))
async def test_an_undeclared_query_parameter_is_refused_on_every_route(name: str) -> None:
    app = APPS[name]()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        checked = 0
        for method, path in routes(name):
            response = await client.request(method, path, params={"stauts": "open"})
            assert response.status_code == 422, (method, path, response.text)
            error = response.json()["error"]
            assert error["code"] == "validation_error"
            assert error["fields"][0]["loc"] == ["query", "stauts"]
            checked += 1
    assert checked > 3


class Page(BaseModel):
    limit: int = 50
    cursor: str | None = None


def team(team: str | None = None) -> str | None:
    return team


async def test_declared_parameters_pass_whichever_way_they_are_declared() -> None:
    router = APIRouter()

    @router.get("/cases")
    async def cases(
        page: Annotated[Page, Query()],
        team: Annotated[str | None, Depends(team)],
        from_: Annotated[str | None, Query(alias="from")] = None,
    ) -> dict[str, object]:
        return {"limit": page.limit, "team": team, "from": from_}

    app = FastAPI(dependencies=[Depends(query_params.refuse_unknown)])
    install_error_handlers(app)
    app.include_router(router)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        ok = await client.get("/cases", params={"limit": 5, "team": "billing", "from": "x"})
        assert ok.status_code == 200 and ok.json() == {"limit": 5, "team": "billing", "from": "x"}
        refused = await client.get("/cases", params={"limit": 5, "from_": "x", "tema": "y"})
    assert refused.status_code == 422
    assert [f["loc"] for f in refused.json()["error"]["fields"]] == [
        ["query", "from_"],
        ["query", "tema"],
    ]
