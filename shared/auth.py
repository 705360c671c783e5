"""Bearer-token authentication and role-based authorisation.

Tokens are HS256 JWTs carrying `role`, `sub`, `aud` and `exp`, signed with AUTH_SECRET; every
service verifies them locally so no call depends on another service being up. A token without an
expiry or for another audience is refused.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from shared.errors import DomainError

Role = Literal[
    "frontend", "owner", "supervisor", "department", "analyst", "admin", "data_protection"
]
ROLES: tuple[str, ...] = (
    "frontend",
    "owner",
    "supervisor",
    "department",
    "analyst",
    "admin",
    "data_protection",
)


@dataclass(frozen=True)
class Principal:
    role: str
    subject: str


class Unauthenticated(DomainError):
    status_code = 401


AUDIENCE = "complaints"
DEFAULT_TTL = timedelta(hours=8)


def mint_token(secret: str, role: str, subject: str, ttl: timedelta = DEFAULT_TTL) -> str:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    if ttl <= timedelta(0):
        raise ValueError("a token's ttl must be positive")
    issued = datetime.now(UTC)
    claims: dict[str, object] = {
        "role": role,
        "sub": subject,
        "aud": AUDIENCE,
        "iat": issued,
        "exp": issued + ttl,
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def verify_token(secret: str, token: str) -> Principal:
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            audience=AUDIENCE,
            options={"require": ["sub", "exp", "aud"]},
        )
    except jwt.PyJWTError as exc:
        raise Unauthenticated("invalid_token", f"The bearer token is not valid: {exc}") from exc
    role = claims.get("role")
    if role not in ROLES:
        raise Unauthenticated("invalid_token", "The bearer token carries no known role.")
    return Principal(role=str(role), subject=str(claims["sub"]))


_bearer = HTTPBearer(auto_error=False)


def authenticate(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated("unauthenticated", "A bearer token is required.")
    return verify_token(request.app.state.settings.auth_secret, credentials.credentials)


def require(*roles: str) -> Callable[[Principal], Principal]:
    """A dependency that admits only the given roles."""

    def _check(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
        if principal.role not in roles:
            raise DomainError(
                "forbidden", f"Role {principal.role!r} may not do this.", 403, allowed=list(roles)
            )
        return principal

    return _check


if __name__ == "__main__":
    import argparse
    import os

    parser = argparse.ArgumentParser(description="Mint a bearer token.")
    parser.add_argument("role", choices=ROLES)
    parser.add_argument("subject")
    parser.add_argument("--hours", type=float, default=8.0, help="lifetime (default 8)")
    args = parser.parse_args()
    from shared.settings import DEV_AUTH_SECRET

    secret = os.environ.get("AUTH_SECRET", DEV_AUTH_SECRET)
    print(mint_token(secret, args.role, args.subject, timedelta(hours=args.hours)))
