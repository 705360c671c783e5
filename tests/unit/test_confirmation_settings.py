"""Confirmation's own production checks: keyed-hash secrets and auditors are never defaults."""

from pathlib import Path
from typing import Any

import pytest

from services.confirmation.settings import (
    DEV_TOKEN_HASH_SECRET,
    ConfirmationSettings,
)
from tests.unit.test_secrets import CONFIRMATION

REAL = "r" * 40


def production(**values: object) -> dict[str, Any]:
    base: dict[str, object] = {
        **CONFIRMATION,
        "token_hash_secret": REAL,
        "visitor_hash_secret": REAL + "v",
        "auditors": "irene",
    }
    return {**base, **values}


def test_development_audits_with_the_demo_organisations_auditors() -> None:
    settings = ConfirmationSettings(auditors="")
    assert settings.auditor_ids == ["irene", "omar"]
    assert settings.audit_attested_sample_rate == 1.0 and settings.web_token_ttl_hours == 48
    assert ConfirmationSettings(auditors=" bob, ,carol").auditor_ids == ["bob", "carol"]


@pytest.mark.parametrize(
    ("values", "refused"),
    [
        ({"token_hash_secret": DEV_TOKEN_HASH_SECRET}, "TOKEN_HASH_SECRET"),
        ({"token_hash_secret": "short-secret"}, "TOKEN_HASH_SECRET"),
        ({"visitor_hash_secret": "x" * 31}, "VISITOR_HASH_SECRET"),
        ({"auditors": "", "auditors_file": Path("/nonexistent/auditors.toml")}, "AUDITORS"),
        ({"auditors": " , "}, "AUDITORS"),
    ],
)
def test_production_refuses_default_secrets_and_no_auditors(
    values: dict[str, object], refused: str
) -> None:
    with pytest.raises(ValueError, match=refused):
        ConfirmationSettings(**production(**values))


def test_an_auditors_file_names_them(tmp_path: Path) -> None:
    file = tmp_path / "auditors.toml"
    file.write_text('auditors = ["zoe", " yan "]\n')
    assert ConfirmationSettings(auditors="", auditors_file=file).auditor_ids == ["zoe", "yan"]
