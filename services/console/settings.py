"""Console settings: where the five services are, the console's own database and its secrets."""

import json
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.console.models import ROLES
from shared.settings import DEV_AUTH_SECRET, MIN_SECRET_BYTES, service_field

DEV_SESSION_SECRET = "development-only-console-session-secret-0123456789"
DEV_OIDC_CLIENT_SECRET = "development-only-console-oidc-client-secret-0123"


class ConsoleSettings(BaseSettings):
    """The console publishes and consumes no events, so it has no broker login."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    service_name: str = "console"
    app_env: Literal["development", "test", "production"] = "development"
    host: str = "127.0.0.1"
    port: int = service_field("console", "port", 8000)
    database_url: str | None = service_field("console", "database_url", None)
    var_dir: Path = Path("var")
    log_level: str = "INFO"
    run_migrations_on_start: bool = True
    # Signs the bearer tokens the console mints for the signed-in person: the services' key.
    auth_secret: str = DEV_AUTH_SECRET
    session_secret: str = Field(
        DEV_SESSION_SECRET,
        validation_alias="CONSOLE_SESSION_SECRET",
        description="Signs the session cookie.",
    )
    session_max_age_seconds: int = service_field("console", "session_max_age_seconds", 8 * 3600)
    # Lifetime of the bearer token minted for each call to a service.
    token_ttl_seconds: int = service_field("console", "token_ttl_seconds", 300)
    # Cookies only over HTTPS (production behind TLS).
    secure_cookies: bool = Field(False, validation_alias="CONSOLE_SECURE_COOKIES")
    intake_url: str = service_field("console", "intake_url", "http://127.0.0.1:8001")
    escalation_url: str = service_field("console", "escalation_url", "http://127.0.0.1:8002")
    ownership_url: str = service_field("console", "ownership_url", "http://127.0.0.1:8003")
    confirmation_url: str = service_field("console", "confirmation_url", "http://127.0.0.1:8004")
    analytics_url: str = service_field("console", "analytics_url", "http://127.0.0.1:8005")
    service_timeout_seconds: float = Field(10.0, gt=0)
    # Local accounts (username and password in the console's database); off, only OpenID Connect.
    local_accounts: bool = service_field("console", "local_accounts", True)
    # OpenID Connect sign-in, on when an issuer is set (its discovery document is read from
    # `<issuer>/.well-known/openid-configuration`).
    oidc_issuer: str | None = service_field("console", "oidc_issuer", None)
    oidc_provider_name: str = service_field("console", "oidc_provider_name", "OpenID Connect")
    oidc_client_id: str = service_field("console", "oidc_client_id", "")
    oidc_client_secret: str = service_field("console", "oidc_client_secret", DEV_OIDC_CLIENT_SECRET)
    # Where the provider sends the browser back; unset, this console's own address.
    oidc_redirect_url: str | None = service_field("console", "oidc_redirect_url", None)
    oidc_scopes: str = service_field("console", "oidc_scopes", "openid profile email")
    # The ID token claims that carry the person's provider roles or groups (a dotted path such
    # as `realm_access.roles` reaches into an object), their console subject and their name.
    oidc_role_claim: str = service_field("console", "oidc_role_claim", "roles")
    oidc_subject_claim: str = service_field("console", "oidc_subject_claim", "preferred_username")
    oidc_name_claim: str = service_field("console", "oidc_name_claim", "name")
    # Provider role or group → console role, as a JSON object; the first that matches wins.
    oidc_role_map: dict[str, str] = service_field("console", "oidc_role_map", {})

    secret_fields: ClassVar[tuple[str, ...]] = ("auth_secret", "session_secret")

    @field_validator("oidc_role_map", mode="before")
    @classmethod
    def _role_map(cls, value: Any) -> Any:
        parsed = json.loads(value) if isinstance(value, str) else value
        if isinstance(parsed, dict):
            wrong = sorted(str(r) for r in parsed.values() if r not in ROLES)
            if wrong:
                raise ValueError(
                    f"CONSOLE_OIDC_ROLE_MAP maps to unknown console roles {', '.join(wrong)}; "
                    f"the roles are {', '.join(ROLES)}"
                )
        return parsed

    @property
    def oidc_enabled(self) -> bool:
        return bool(self.oidc_issuer)

    @property
    def oidc_callback_url(self) -> str:
        return self.oidc_redirect_url or f"http://{self.host}:{self.port}/signin/oidc/callback"

    @model_validator(mode="after")
    def _refuse_development_defaults_in_production(self) -> "ConsoleSettings":
        problems = sign_in_problems(self)
        if problems:
            raise ValueError("cannot sign anyone in: " + "; ".join(problems))
        if self.app_env == "production":
            problems = production_problems(self)
            if problems:
                raise ValueError("refused in production: " + "; ".join(problems))
        return self

    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.var_dir / 'console.db'}"

    def service_url(self, service: str) -> str:
        url: str = getattr(self, f"{service}_url")
        return url.rstrip("/")


def production_problems(settings: ConsoleSettings) -> list[str]:
    problems = []
    fields = type(settings).model_fields
    names = {"auth_secret": "AUTH_SECRET", "session_secret": "CONSOLE_SESSION_SECRET"}
    for name in settings.secret_fields:
        value = getattr(settings, name)
        if value == fields[name].default:
            problems.append(f"{names[name]} still has its development default")
        elif len(value.encode()) < MIN_SECRET_BYTES:
            problems.append(f"{names[name]} is shorter than {MIN_SECRET_BYTES} bytes")
    if not settings.database_url or settings.database_url.startswith("sqlite"):
        problems.append("CONSOLE_DATABASE_URL must be a PostgreSQL URL")
    if not settings.secure_cookies:
        problems.append("CONSOLE_SECURE_COOKIES must be true (cookies only over HTTPS)")
    if settings.oidc_enabled:
        secret = settings.oidc_client_secret
        if not secret or secret == DEV_OIDC_CLIENT_SECRET:
            problems.append("CONSOLE_OIDC_CLIENT_SECRET still has its development default")
        for name, url in [
            ("CONSOLE_OIDC_ISSUER", settings.oidc_issuer or ""),
            ("CONSOLE_OIDC_REDIRECT_URL", settings.oidc_callback_url),
        ]:
            if not url.startswith("https://"):
                problems.append(f"{name} must be an https:// URL")
    return problems


def sign_in_problems(settings: ConsoleSettings) -> list[str]:
    """Settings under which nobody could sign in, in any environment."""
    problems = []
    if not settings.local_accounts and not settings.oidc_enabled:
        problems.append("CONSOLE_LOCAL_ACCOUNTS is off and no CONSOLE_OIDC_ISSUER is set")
    if settings.oidc_enabled:
        if not settings.oidc_client_id:
            problems.append("CONSOLE_OIDC_CLIENT_ID is not set")
        if not settings.oidc_role_map:
            problems.append("CONSOLE_OIDC_ROLE_MAP maps no provider role to a console role")
        if "openid" not in settings.oidc_scopes.split():
            problems.append("CONSOLE_OIDC_SCOPES must include openid")
    return problems
