"""Sign-in with OpenID Connect: the console in process against a provider that is a real HTTP
server on loopback; the browser follows every redirect between the two."""

import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from fastapi import FastAPI

from services.console import accounts
from services.console.app import create_app
from services.console.settings import ConsoleSettings
from tests.support.mail import free_port
from tests.support.oidc_provider import OidcProvider
from tests.support.services import running

CALLBACK = "http://test/signin/oidc/callback"
PASSWORD = "a-long-enough-password"
ROLE_MAP = {
    "complaints-admins": "admin",
    "complaints-owners": "owner",
    "complaints-analysts": "analyst",
}
USERS: dict[str, dict[str, Any]] = {
    "alice": {
        "preferred_username": "alice",
        "name": "Alice Martin",
        "roles": ["complaints-owners"],
    },
    "root": {
        "preferred_username": "root",
        "name": "Rosa Admin",
        "roles": ["staff", "complaints-admins"],
    },
    "bi": {
        "preferred_username": "bi",
        "name": "BI",
        "roles": "complaints-analysts",
        "locale": "zh-CN",
    },
    "guest": {"preferred_username": "guest", "name": "Guest", "roles": ["staff"]},
}


@pytest.fixture
def provider() -> Iterator[OidcProvider]:
    with OidcProvider(redirect_uri=CALLBACK, users=USERS) as running_provider:
        yield running_provider


def console_settings(tmp_path: Path, provider: OidcProvider, **extra: Any) -> ConsoleSettings:
    values: dict[str, Any] = {
        "app_env": "test",
        "database_url": f"sqlite+aiosqlite:///{tmp_path / 'console.db'}",
        "oidc_issuer": provider.issuer,
        "oidc_provider_name": "Test IdP",
        "oidc_client_id": provider.client_id,
        "oidc_client_secret": provider.client_secret,
        "oidc_redirect_url": CALLBACK,
        "oidc_role_map": ROLE_MAP,
        # No service runs here: a page that calls one answers 503, never someone else's data.
        "ownership_url": f"http://127.0.0.1:{free_port()}",
        **extra,
    }
    return ConsoleSettings(**values)


def browser_for(app: FastAPI, provider: OidcProvider) -> httpx.AsyncClient:
    """A browser with its own cookies: the console over ASGI, the provider over the network."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        mounts={provider.issuer: httpx.AsyncHTTPTransport()},
        base_url="http://test",
        timeout=10,
    )


@pytest.fixture
async def console(tmp_path: Path, provider: OidcProvider) -> AsyncIterator[FastAPI]:
    app = create_app(console_settings(tmp_path, provider))
    async with running(app):
        await accounts.upsert(app.state.engine, "local", PASSWORD, "owner", "x")
        yield app


@pytest.fixture
async def browser(console: FastAPI, provider: OidcProvider) -> AsyncIterator[httpx.AsyncClient]:
    async with browser_for(console, provider) as client:
        yield client


async def to_callback(browser: httpx.AsyncClient, provider: OidcProvider) -> str:
    """Begin a sign-in and stop where the provider sends the browser back: the callback URL."""
    start = await browser.get("/signin/oidc")
    assert start.status_code == 302 and start.headers["location"].startswith(provider.issuer)
    sent = parse_qs(urlsplit(start.headers["location"]).query)
    assert sent["code_challenge_method"] == ["S256"] and sent["nonce"] and sent["state"]
    answer = await browser.get(start.headers["location"])
    assert answer.status_code == 302, answer.text
    callback: str = answer.headers["location"]
    assert callback.startswith(CALLBACK)
    return callback


async def signed_out(browser: httpx.AsyncClient) -> bool:
    page = await browser.get("/kpis")
    return page.status_code == 303 and page.headers["location"].startswith("/signin")


async def test_the_sign_in_page_offers_the_provider_beside_local_accounts(
    browser: httpx.AsyncClient,
) -> None:
    page = await browser.get("/signin?next=/accounts")
    assert 'href="/signin/oidc?next=/accounts"' in page.text
    assert "Sign in with Test IdP" in page.text and 'name="password"' in page.text


async def test_a_person_signs_in_at_the_provider_and_opens_a_page_of_their_role(
    browser: httpx.AsyncClient, provider: OidcProvider
) -> None:
    provider.signed_in_as = "root"
    page = await browser.get("/signin/oidc?next=/accounts", follow_redirects=True)
    assert page.status_code == 200 and str(page.url) == "http://test/accounts"
    assert "Rosa Admin · admin" in page.text and "<td>local</td>" in page.text
    hops = [str(r.url).split("?")[0] for r in page.history]
    assert hops == ["http://test/signin/oidc", f"{provider.issuer}/authorize", CALLBACK]
    # The provider saw the S256 challenge, the verifier matching it and the client's secret.
    assert [(e.code_challenge_method, e.verifier_matched) for e in provider.exchanges] == [
        ("S256", True)
    ]
    assert provider.exchanges[0].client_authenticated
    cookie = page.history[-1].headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie


async def test_each_role_lands_on_its_home_and_only_there(
    console: FastAPI, provider: OidcProvider
) -> None:
    for user, home, forbidden in [("alice", "/queue", "/accounts"), ("bi", "/kpis", "/queue")]:
        provider.signed_in_as = user
        async with browser_for(console, provider) as browser:
            callback = await to_callback(browser, provider)
            back = await browser.get(callback)
            assert back.status_code == 303 and back.headers["location"] == home
            refused = await browser.get(forbidden)
            assert refused.status_code == 403
            if user == "bi":  # the provider's locale chooses the language
                assert "您的角色无权打开此页面" in refused.text


async def test_an_answer_with_a_tampered_state_is_refused(
    browser: httpx.AsyncClient, provider: OidcProvider
) -> None:
    provider.signed_in_as = "alice"
    callback = await to_callback(browser, provider)
    query = parse_qs(urlsplit(callback).query)
    tampered = urlencode({"code": query["code"][0], "state": query["state"][0] + "x"})
    refused = await browser.get(f"/signin/oidc/callback?{tampered}")
    assert refused.status_code == 401 and "state_mismatch" in refused.text
    assert provider.exchanges == []  # the code was never redeemed
    assert await signed_out(browser)


async def test_an_answer_is_good_once_and_only_in_the_browser_that_asked(
    console: FastAPI, browser: httpx.AsyncClient, provider: OidcProvider
) -> None:
    provider.signed_in_as = "alice"
    callback = await to_callback(browser, provider)
    async with browser_for(console, provider) as other:
        elsewhere = await other.get(callback)
        assert elsewhere.status_code == 401 and "state_mismatch" in elsewhere.text
        assert await signed_out(other)
    assert (await browser.get(callback)).status_code == 303
    await browser.get("/signin")
    replayed = await browser.get(callback)
    assert replayed.status_code == 401 and "state_mismatch" in replayed.text


@pytest.mark.parametrize(
    "changes, stranger",
    [
        ({"nonce": "a-nonce-of-another-sign-in"}, False),
        ({"nonce": None}, False),
        ({"aud": "another-client"}, False),
        ({"aud": "another-client", "azp": "complaints-console"}, False),
        ({"iss": "http://evil.example"}, False),
        ({"exp": int(time.time()) - 600, "iat": int(time.time()) - 900}, False),
        ({}, True),
    ],
    ids=["nonce", "no-nonce", "audience", "audience-with-azp", "issuer", "expired", "signature"],
)
async def test_an_id_token_that_does_not_verify_is_refused(
    browser: httpx.AsyncClient, provider: OidcProvider, changes: dict[str, Any], stranger: bool
) -> None:
    provider.signed_in_as = "root"
    provider.id_token_changes = changes
    provider.sign_with_stranger_key = stranger
    refused = await browser.get("/signin/oidc", follow_redirects=True)
    assert refused.status_code == 401, refused.text
    assert "The sign-in could not be verified." in refused.text
    assert "id_token_invalid" in refused.text
    assert await signed_out(browser)


async def test_a_person_without_a_mapped_role_is_refused_with_a_readable_page(
    browser: httpx.AsyncClient, provider: OidcProvider
) -> None:
    provider.signed_in_as = "guest"
    refused = await browser.get("/signin/oidc", follow_redirects=True)
    assert refused.status_code == 403
    assert "Your account has no role in this console" in refused.text
    assert "guest holds no roles that this console maps to a role" in refused.text
    assert await signed_out(browser)


async def test_a_refusal_at_the_provider_is_shown_not_signed_in(
    browser: httpx.AsyncClient, provider: OidcProvider
) -> None:
    provider.signed_in_as = None  # nobody signed in there: login_required
    refused = await browser.get("/signin/oidc", follow_redirects=True)
    assert refused.status_code == 401 and "login_required" in refused.text
    assert await signed_out(browser)


async def test_a_discovery_document_naming_another_issuer_is_refused(
    browser: httpx.AsyncClient, provider: OidcProvider
) -> None:
    provider.discovery_issuer = "http://evil.example"
    refused = await browser.get("/signin/oidc")
    assert refused.status_code == 401 and "issuer_mismatch" in refused.text


async def test_an_unreachable_provider_is_a_503_page(tmp_path: Path) -> None:
    with OidcProvider(redirect_uri=CALLBACK) as gone:
        settings = console_settings(tmp_path, gone)
    app = create_app(settings)  # the provider has stopped
    async with running(app) as browser:
        page = await browser.get("/signin/oidc")
        assert page.status_code == 503 and "cannot be reached" in page.text


async def test_with_local_accounts_off_only_the_provider_signs_in(
    tmp_path: Path, provider: OidcProvider
) -> None:
    app = create_app(console_settings(tmp_path, provider, local_accounts=False))
    async with running(app), browser_for(app, provider) as browser:
        await accounts.upsert(app.state.engine, "local", PASSWORD, "admin", "x")
        page = await browser.get("/signin")
        assert "Sign in with Test IdP" in page.text and 'name="password"' not in page.text
        provider.signed_in_as = "alice"
        signed = await browser.get("/signin/oidc?next=/accounts", follow_redirects=True)
        assert signed.status_code == 403  # an owner, signed in: the page carries a form
        token = signed.text.split('name="csrf_token" value="')[1].split('"')[0]
        posted = await browser.post(
            "/signin", data={"csrf_token": token, "username": "local", "password": PASSWORD}
        )
        assert posted.status_code == 403 and "local account is turned off" in posted.text
