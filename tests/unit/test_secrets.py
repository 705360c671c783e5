"""Secrets stay secret: production refuses development defaults; tokens expire; engines hide
bound parameters."""

from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from pydantic import ValidationError

from services.confirmation.settings import ConfirmationSettings
from services.intake.settings import IntakeSettings
from services.ownership.settings import OwnershipSettings
from shared.auth import AUDIENCE, Unauthenticated, mint_token, verify_token
from shared.db import make_engine

STRONG = "s" * 32
PRODUCTION: dict[str, Any] = {
    "app_env": "production",
    "auth_secret": STRONG,
    "amqp_url": "amqp://intake:a-real-broker-password-of-some-length@broker:5672/",
    "database_url": "postgresql+asyncpg://intake:pw@db:5432/intake",
    "customer_key_secret": STRONG,
}
CONFIRMATION: dict[str, Any] = {
    **PRODUCTION,
    "amqp_url": "amqp://confirmation:a-real-broker-password-of-some-length@broker:5672/",
    "sms_token": STRONG,
    "sms_webhook_secret": STRONG,
    "email_webhook_secret": STRONG,
    "token_hash_secret": STRONG + "t",
    "visitor_hash_secret": STRONG + "v",
    "auditors": "irene",
    "email_trusted_authserv_id": "mx.example.com",
}


def refusal(settings_class: type, **values: Any) -> str:
    with pytest.raises(ValidationError) as caught:
        settings_class(**values)
    return str(caught.value)


def test_production_starts_with_real_secrets() -> None:
    assert IntakeSettings(**PRODUCTION).app_env == "production"
    assert ConfirmationSettings(**CONFIRMATION).app_env == "production"


@pytest.mark.parametrize(
    ("field", "setting"),
    [
        ("auth_secret", "AUTH_SECRET"),
        ("customer_key_secret", "CUSTOMER_KEY_SECRET"),
    ],
)
def test_production_refuses_each_development_default_of_intake(field: str, setting: str) -> None:
    values = {k: v for k, v in PRODUCTION.items() if k != field}
    assert f"{setting} still has its development default" in refusal(IntakeSettings, **values)


@pytest.mark.parametrize("field", ["sms_token", "sms_webhook_secret", "email_webhook_secret"])
def test_production_refuses_each_development_default_of_confirmation(field: str) -> None:
    values = {k: v for k, v in CONFIRMATION.items() if k != field}
    message = refusal(ConfirmationSettings, **values)
    assert f"{field.upper()} still has its development default" in message


def test_production_refuses_short_secrets() -> None:
    message = refusal(IntakeSettings, **{**PRODUCTION, "auth_secret": "x" * 31})
    assert "AUTH_SECRET is shorter than 32 bytes" in message
    # Bytes, not characters: 11 three-byte characters are 33 bytes.
    assert IntakeSettings(**{**PRODUCTION, "customer_key_secret": "密" * 11})


@pytest.mark.parametrize(
    ("amqp_url", "reason"),
    [
        (None, "INTAKE_AMQP_URL is not set"),
        ("amqp://guest:guest@broker:5672/", "INTAKE_AMQP_URL logs in as guest"),
        ("amqp://broker:5672/", "INTAKE_AMQP_URL logs in as guest"),
        (
            "amqp://intake:intake-development-broker-password@broker:5672/",
            "INTAKE_AMQP_URL uses the development broker password",
        ),
    ],
)
def test_production_refuses_guest_and_development_broker_logins(
    amqp_url: str | None, reason: str
) -> None:
    assert reason in refusal(IntakeSettings, **{**PRODUCTION, "amqp_url": amqp_url})


@pytest.mark.parametrize("url", [None, "sqlite+aiosqlite:///var/intake.db"])
def test_production_refuses_sqlite(url: str | None) -> None:
    message = refusal(IntakeSettings, **{**PRODUCTION, "database_url": url})
    assert "INTAKE_DATABASE_URL must be a PostgreSQL URL" in message


def test_development_keeps_its_defaults() -> None:
    assert OwnershipSettings(app_env="development").broker_url.startswith("amqp://ownership:")


def test_tokens_carry_expiry_and_audience() -> None:
    token = mint_token(STRONG, "owner", "alice")
    claims = jwt.decode(token, STRONG, algorithms=["HS256"], audience=AUDIENCE)
    lifetime = datetime.fromtimestamp(claims["exp"], UTC) - datetime.now(UTC)
    assert timedelta(hours=7, minutes=59) < lifetime <= timedelta(hours=8)
    assert verify_token(STRONG, token).subject == "alice"


@pytest.mark.parametrize(
    "claims",
    [
        {"role": "owner", "sub": "alice", "aud": AUDIENCE},  # never expires
        {"role": "owner", "sub": "alice", "exp": datetime.now(UTC) + timedelta(hours=1)},
        {"role": "owner", "sub": "alice", "aud": "other", "exp": datetime.now(UTC) + timedelta(1)},
        {"role": "owner", "sub": "alice", "aud": AUDIENCE, "exp": datetime.now(UTC) - timedelta(1)},
    ],
)
def test_tokens_without_expiry_or_for_another_audience_are_refused(claims: dict[str, Any]) -> None:
    token = jwt.encode(claims, STRONG, algorithm="HS256")
    with pytest.raises(Unauthenticated):
        verify_token(STRONG, token)


def test_expired_token_is_refused() -> None:
    with pytest.raises(ValueError):
        mint_token(STRONG, "owner", "alice", timedelta(0))


def test_engines_hide_bound_parameters() -> None:
    engine = make_engine("sqlite+aiosqlite:///:memory:")
    assert engine.sync_engine.hide_parameters is True
    assert make_engine("postgresql+asyncpg://u@h/db").sync_engine.hide_parameters is True


def test_compose_loads_the_broker_users_the_code_defines() -> None:
    import json

    from shared.brokerusers import DEFINITIONS, definitions

    assert json.loads(DEFINITIONS.read_text()) == definitions()
    users = definitions()["users"]
    assert isinstance(users, list)
    assert "guest" not in {u["name"] for u in users}
