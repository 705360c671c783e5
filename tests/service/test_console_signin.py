"""The console's sign-in, sessions, CSRF and role separation, in process on its own database
(no service is called before a role is admitted)."""

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from pydantic import ValidationError

from services.console import accounts
from services.console.app import create_app
from services.console.settings import ConsoleSettings
from tests.support.console_system import csrf_of, sign_in
from tests.support.services import running

PASSWORD = "a-long-enough-password"


@pytest.fixture
async def console(tmp_path: Path) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    settings = ConsoleSettings(
        app_env="test", database_url=f"sqlite+aiosqlite:///{tmp_path / 'console.db'}"
    )
    app = create_app(settings)
    async with running(app) as client:
        await accounts.upsert(app.state.engine, "alice", PASSWORD, "owner", "alice", "Alice")
        await accounts.upsert(app.state.engine, "bi", PASSWORD, "analyst", "bi", "BI", "zh")
        yield app, client


@pytest.fixture
def browser(console: tuple[FastAPI, httpx.AsyncClient]) -> httpx.AsyncClient:
    return console[1]


def another(app: FastAPI) -> httpx.AsyncClient:
    """A second browser: its own cookies."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def test_a_wrong_password_or_an_unknown_name_is_refused(browser: httpx.AsyncClient) -> None:
    for username, password in [("alice", "wrong-password"), ("nobody", PASSWORD)]:
        refused = await sign_in(browser, username, password)
        assert refused.status_code == 401 and "Wrong username or password." in refused.text
    assert (await browser.get("/queue")).status_code == 303  # to the sign-in page


async def test_a_form_without_the_sessions_csrf_token_is_forbidden(
    browser: httpx.AsyncClient,
) -> None:
    bare = await browser.post("/signin", data={"username": "alice", "password": PASSWORD})
    assert bare.status_code == 403
    await browser.get("/signin")  # the session now has a token, the form another
    forged = await browser.post(
        "/signin", data={"username": "alice", "password": PASSWORD, "csrf_token": "forged"}
    )
    assert forged.status_code == 403
    signed = await sign_in(browser, "alice", PASSWORD)
    assert signed.status_code == 303 and signed.headers["location"] == "/queue"
    cookie = signed.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert (await browser.post("/signout", data={})).status_code == 403
    page = await browser.get("/signin")
    out = await browser.post("/signout", data={"csrf_token": csrf_of(page)})
    assert out.status_code == 303
    assert (await browser.get("/queue")).status_code == 303


async def test_an_analyst_cannot_open_the_owners_pages_or_post_their_actions(
    browser: httpx.AsyncClient,
) -> None:
    await sign_in(browser, "bi", PASSWORD)
    assert (await browser.get("/queue")).status_code == 403
    page = await browser.get("/cases/some-case")
    assert page.status_code == 403 and "您的角色无权打开此页面" in page.text  # in Chinese
    posted = await browser.post(
        "/cases/some-case/resolution",
        data={"csrf_token": csrf_of(page), "outcome": "resolved", "summary": "x"},
    )
    assert posted.status_code == 403
    assert (await browser.get("/tasks")).status_code == 403


async def test_the_next_page_after_sign_in_stays_on_this_console(
    browser: httpx.AsyncClient,
) -> None:
    token = csrf_of(await browser.get("/signin?next=//evil.example/x"))
    signed = await browser.post(
        "/signin",
        data={
            "csrf_token": token,
            "username": "alice",
            "password": PASSWORD,
            "next": "//evil.example/x",
        },
    )
    assert signed.headers["location"] == "/queue"


def test_production_refuses_the_development_session_secret() -> None:
    with pytest.raises(ValidationError, match="CONSOLE_SESSION_SECRET"):
        ConsoleSettings(app_env="production", auth_secret="x" * 40)
    ConsoleSettings(
        app_env="production",
        auth_secret="a" * 40,
        session_secret="b" * 40,
        database_url="postgresql+asyncpg://console@db/console",
        secure_cookies=True,
    )


async def test_an_admin_creates_deactivates_and_reactivates_an_account(
    console: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, browser = console
    engine = app.state.engine
    await accounts.upsert(engine, "root", PASSWORD, "admin", "root", "Root")
    await sign_in(browser, "root", PASSWORD)
    page = await browser.get("/accounts")
    token = csrf_of(page)
    short = await browser.post(
        "/accounts",
        data={
            "csrf_token": token,
            "username": "finance",
            "password": "short",
            "role": "department",
            "subject": "finance",
            "language": "en",
        },
        follow_redirects=True,
    )
    assert "password_too_short" in short.text
    made = await browser.post(
        "/accounts",
        data={
            "csrf_token": token,
            "username": "finance",
            "password": PASSWORD,
            "role": "department",
            "subject": "finance",
            "language": "zh",
        },
        follow_redirects=True,
    )
    assert made.status_code == 200 and "<td>finance</td>" in made.text
    await browser.post("/accounts/finance/active", data={"csrf_token": token, "active": "false"})
    async with another(app) as other:
        assert (await sign_in(other, "finance", PASSWORD)).status_code == 401
        await browser.post("/accounts/finance/active", data={"csrf_token": token, "active": "true"})
        assert (await sign_in(other, "finance", PASSWORD)).status_code == 303
    async with another(app) as owner:
        await sign_in(owner, "alice", PASSWORD)
        assert (await owner.get("/accounts")).status_code == 403
