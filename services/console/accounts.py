"""Local accounts: argon2id password hashes in the console's database.

`python -m services.console.accounts seed-demo` creates (or resets) one account per demo role
and prints them with their passwords; `make run` does this at every start.
"""

import asyncio
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from services.console.models import LANGUAGES, ROLES, accounts
from shared.errors import DomainError

_hasher = PasswordHasher()  # argon2id with the library's recommended parameters
# Verified against when the username is unknown, so both refusals take the same time.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))
MIN_PASSWORD_LENGTH = 10


@dataclass(frozen=True)
class Account:
    username: str
    role: str
    subject: str
    display_name: str
    language: str
    active: bool


def _account(row: Any) -> Account:
    return Account(
        username=row.username,
        role=row.role,
        subject=row.subject,
        display_name=row.display_name,
        language=row.language,
        active=row.active,
    )


def _check(role: str, subject: str, language: str, password: str | None) -> None:
    if role not in ROLES:
        raise DomainError("unknown_role", f"Role must be one of {', '.join(ROLES)}.", 422)
    if language not in LANGUAGES:
        raise DomainError("unknown_language", "Language must be en or zh.", 422)
    if not subject.strip():
        raise DomainError("missing_subject", "An account needs a subject.", 422)
    if password is not None and len(password) < MIN_PASSWORD_LENGTH:
        raise DomainError(
            "password_too_short", f"A password needs {MIN_PASSWORD_LENGTH} characters.", 422
        )


async def upsert(
    engine: AsyncEngine,
    username: str,
    password: str,
    role: str,
    subject: str,
    display_name: str = "",
    language: str = "en",
) -> Account:
    """Create the account, or replace its password, role, subject and language."""
    _check(role, subject, language, password)
    now = datetime.now(UTC)
    values = {
        "password_hash": await asyncio.to_thread(_hasher.hash, password),
        "role": role,
        "subject": subject.strip(),
        "display_name": display_name or username,
        "language": language,
        "active": True,
        "updated_at": now,
    }
    async with engine.begin() as conn:
        found = await conn.execute(
            update(accounts).where(accounts.c.username == username).values(**values)
        )
        if found.rowcount == 0:
            await conn.execute(
                accounts.insert().values(username=username, created_at=now, **values)
            )
    found_account = await get(engine, username)
    assert found_account is not None
    return found_account


async def get(engine: AsyncEngine, username: str) -> Account | None:
    async with engine.connect() as conn:
        row = (await conn.execute(select(accounts).where(accounts.c.username == username))).first()
    return _account(row) if row is not None else None


async def list_all(engine: AsyncEngine) -> list[Account]:
    async with engine.connect() as conn:
        rows = await conn.execute(select(accounts).order_by(accounts.c.role, accounts.c.username))
    return [_account(r) for r in rows]


async def set_active(engine: AsyncEngine, username: str, active: bool) -> None:
    async with engine.begin() as conn:
        result = await conn.execute(
            update(accounts)
            .where(accounts.c.username == username)
            .values(active=active, updated_at=datetime.now(UTC))
        )
    if result.rowcount == 0:
        raise DomainError("account_not_found", f"No account {username}.", 404)


async def authenticate(engine: AsyncEngine, username: str, password: str) -> Account | None:
    """The active account with this password, or None; the same work either way."""
    async with engine.connect() as conn:
        row = (await conn.execute(select(accounts).where(accounts.c.username == username))).first()
    stored = row.password_hash if row is not None else _DUMMY_HASH
    try:
        await asyncio.to_thread(_hasher.verify, stored, password)
    except (VerificationError, InvalidHashError):
        return None
    if row is None or not row.active:
        return None
    if _hasher.check_needs_rehash(stored):
        await upsert(
            engine, row.username, password, row.role, row.subject, row.display_name, row.language
        )
    return _account(row)


# One account per role of the demo organisation (config/organisation.toml, auditors.toml).
DEMO_ACCOUNTS: list[tuple[str, str, str, str, str]] = [
    ("alice", "owner", "alice", "Alice Martin", "en"),
    ("maria", "owner", "maria", "Maria Santos", "en"),
    ("finance", "department", "finance", "Finance department", "en"),
    ("sam", "supervisor", "sam", "Sam (supervisor)", "en"),
    ("irene", "auditor", "irene", "Irene (auditor)", "en"),
    ("bi", "analyst", "bi", "BI analyst", "zh"),
    ("root", "admin", "root", "Administrator", "en"),
]


async def seed_demo(engine: AsyncEngine, password: str | None = None) -> list[tuple[Account, str]]:
    """The demo accounts with fresh passwords (each its own unless `password` is given)."""
    seeded = []
    for username, role, subject, name, language in DEMO_ACCOUNTS:
        secret = password or secrets.token_urlsafe(9)
        account = await upsert(engine, username, secret, role, subject, name, language)
        seeded.append((account, secret))
    return seeded
