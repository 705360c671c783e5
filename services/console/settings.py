"""Console settings: where the five services are, the console's own database and its secrets."""

from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.settings import DEV_AUTH_SECRET, MIN_SECRET_BYTES, service_field

DEV_SESSION_SECRET = "development-only-console-session-secret-0123456789"


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

    secret_fields: ClassVar[tuple[str, ...]] = ("auth_secret", "session_secret")

    @model_validator(mode="after")
    def _refuse_development_defaults_in_production(self) -> "ConsoleSettings":
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
    return problems
