"""OpenID Connect settings and claim mapping: what production refuses, how claims become a role
and a subject, and a session that no longer maps once the role map changes."""

from typing import Any

import pytest
from pydantic import ValidationError

from services.console.oidc import OidcRefused, account_of, session_identity
from services.console.settings import ConsoleSettings

ISSUER = "https://login.example.org/realms/complaints"
PRODUCTION: dict[str, Any] = {
    "app_env": "production",
    "auth_secret": "a" * 40,
    "session_secret": "b" * 40,
    "database_url": "postgresql+asyncpg://console@db/console",
    "secure_cookies": True,
}
OIDC: dict[str, Any] = {
    "oidc_issuer": ISSUER,
    "oidc_client_id": "console",
    "oidc_redirect_url": "https://console.example.org/signin/oidc/callback",
    "oidc_role_map": '{"cn=owners,ou=groups": "owner", "supervisors": "supervisor"}',
}


def test_production_refuses_the_development_client_secret_when_oidc_is_on() -> None:
    with pytest.raises(ValidationError, match="CONSOLE_OIDC_CLIENT_SECRET"):
        ConsoleSettings(**PRODUCTION, **OIDC)
    with pytest.raises(ValidationError, match="CONSOLE_OIDC_ISSUER must be an https"):
        ConsoleSettings(
            **PRODUCTION, **OIDC | {"oidc_issuer": "http://login"}, oidc_client_secret="s" * 32
        )
    settings = ConsoleSettings(**PRODUCTION, **OIDC, oidc_client_secret="s" * 32)
    assert settings.oidc_role_map == {"cn=owners,ou=groups": "owner", "supervisors": "supervisor"}
    ConsoleSettings(**PRODUCTION)  # OIDC off: its secret is not asked for


@pytest.mark.parametrize(
    "changes, refusal",
    [
        ({"oidc_role_map": '{"staff": "emperor"}'}, "unknown console roles emperor"),
        ({"oidc_role_map": "{}"}, "maps no provider role"),
        ({"oidc_client_id": ""}, "CONSOLE_OIDC_CLIENT_ID is not set"),
        ({"oidc_scopes": "profile email"}, "must include openid"),
        ({"oidc_issuer": None, "local_accounts": False}, "CONSOLE_LOCAL_ACCOUNTS is off"),
    ],
)
def test_settings_under_which_nobody_could_sign_in_are_refused(
    changes: dict[str, Any], refusal: str
) -> None:
    with pytest.raises(ValidationError, match=refusal):
        ConsoleSettings(app_env="test", **OIDC | changes)


def settings(**extra: Any) -> ConsoleSettings:
    return ConsoleSettings(app_env="test", **OIDC | extra)


def test_a_nested_role_claim_and_the_subject_claim_make_the_account() -> None:
    chosen = settings(oidc_role_claim="realm_access.roles", oidc_subject_claim="email")
    claims = {
        "sub": "5f0c",
        "email": "sam@example.org",
        "name": "Sam Lee",
        "locale": "zh-Hans",
        "realm_access": {"roles": ["offline_access", "supervisors", "cn=owners,ou=groups"]},
    }
    account = account_of(chosen, session_identity(chosen, claims))
    assert account is not None
    # The first provider role of the map wins, whatever order the token lists them in.
    assert (account.role, account.subject, account.display_name) == (
        "owner",
        "sam@example.org",
        "Sam Lee",
    )
    assert account.language == "zh"


@pytest.mark.parametrize(
    "claims, code",
    [
        ({"preferred_username": "x", "roles": ["staff"]}, "no_console_role"),
        ({"preferred_username": "x", "roles": {"supervisors": True}}, "no_console_role"),
        ({"preferred_username": "x"}, "no_console_role"),
        ({"roles": ["supervisors"]}, "no_subject"),
        ({"preferred_username": "  ", "roles": ["supervisors"]}, "no_subject"),
    ],
)
def test_claims_without_a_mapped_role_or_a_subject_are_refused(
    claims: dict[str, Any], code: str
) -> None:
    with pytest.raises(OidcRefused) as refused:
        session_identity(settings(), claims)
    assert refused.value.code == code and refused.value.status == 403


def test_a_session_ends_when_its_role_is_unmapped_or_the_issuer_changes() -> None:
    identity = session_identity(settings(), {"preferred_username": "sam", "roles": "supervisors"})
    found = account_of(settings(), identity)
    assert found is not None and found.role == "supervisor"
    assert account_of(settings(oidc_role_map='{"cn=owners,ou=groups": "owner"}'), identity) is None
    assert account_of(settings(oidc_issuer="https://other.example.org"), identity) is None
