"""Settings shared by every service, from the environment, with a default for all that can have one.

Per-service values (`<SERVICE>_DATABASE_URL`, `<SERVICE>_PORT`) win over the plain names, so a
single shell can start every service while each still has its own database.
"""

from pathlib import Path
from typing import Any, ClassVar, Literal
from urllib.parse import unquote, urlparse

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_AUTH_SECRET = "development-only-secret-change-me-0123456789"
MIN_SECRET_BYTES = 32


def production_problems(settings: "ServiceSettings") -> list[str]:
    """What production refuses, each naming its setting: development defaults, short secrets,
    the guest or a development broker login, SQLite."""
    from shared.brokerusers import development_password

    problems = []
    fields = type(settings).model_fields
    for name in settings.secret_fields:
        value = getattr(settings, name)
        if value is None or value == fields[name].default:
            problems.append(f"{name.upper()} still has its development default")
        elif len(str(value).encode()) < MIN_SECRET_BYTES:
            problems.append(f"{name.upper()} is shorter than {MIN_SECRET_BYTES} bytes")
    login = urlparse(settings.amqp_url or "")
    amqp = f"{settings.service_name.upper()}_AMQP_URL"
    if not settings.amqp_url:
        problems.append(f"{amqp} is not set (the service's own broker login)")
    elif login.username in (None, "", "guest"):
        problems.append(f"{amqp} logs in as guest")
    elif unquote(login.password or "") == development_password(login.username or ""):
        problems.append(f"{amqp} uses the development broker password")
    if not settings.database_url or settings.database_url.startswith("sqlite"):
        problems.append(f"{settings.service_name.upper()}_DATABASE_URL must be a PostgreSQL URL")
    return problems


def service_field(service: str, name: str, default: Any) -> Any:
    return Field(
        default,
        validation_alias=AliasChoices(f"{service.upper()}_{name.upper()}", name.upper()),
    )


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    service_name: str = "service"
    app_env: Literal["development", "test", "production"] = "development"
    host: str = "127.0.0.1"
    port: int = 8000
    database_url: str | None = None
    var_dir: Path = Path("var")
    # The service's own broker login (`<SERVICE>_AMQP_URL`); unset, its development user on
    # 127.0.0.1 (shared/brokerusers.py). Nothing logs in as guest.
    amqp_url: str | None = None
    bus_exchange: str = "complaints"
    bus_queue_prefix: str = ""
    bus_prefetch: int = 64
    # The broker's own guard against a message that kills its consumer (redelivered unsettled);
    # handler failures are not counted by it: they go through the retry schedule.
    bus_delivery_limit: int = 5
    # Transient failures are retried after base, 2*base, 4*base ... seconds, each wait at most
    # max, until the waits add up to total (default: a day); or exactly BUS_RETRY_SCHEDULE
    # (comma-separated seconds).
    bus_retry_schedule: str = ""
    bus_retry_base_seconds: float = Field(1.0, gt=0)
    bus_retry_max_seconds: float = Field(3600.0, gt=0)
    bus_retry_total_seconds: float = Field(86400.0, ge=0)
    # Unused retry queues are deleted by the broker after this long (tests; None: kept).
    bus_retry_queue_expires_seconds: float | None = None
    # While paused for an outage, how often the database is tried; how often the dead-letter
    # queue is counted for its metric and /readyz.
    bus_outage_probe_seconds: float = Field(1.0, gt=0)
    bus_dead_letter_poll_seconds: float = Field(30.0, gt=0)
    # Services with a batch handler take up to this many events per transaction, waiting at
    # most this long after the first for the batch to fill.
    bus_batch_size: int = Field(500, ge=1)
    bus_batch_wait_seconds: float = Field(0.05, ge=0)
    auth_secret: str = DEV_AUTH_SECRET
    log_level: str = "INFO"
    outbox_batch_size: int = 500
    outbox_poll_seconds: float = 0.2
    run_migrations_on_start: bool = True

    # The fields holding secrets; each service adds its own. In production none may keep its
    # development default or be shorter than MIN_SECRET_BYTES.
    secret_fields: ClassVar[tuple[str, ...]] = ("auth_secret",)

    @model_validator(mode="after")
    def _refuse_development_defaults_in_production(self) -> "ServiceSettings":
        if self.app_env == "production":
            problems = production_problems(self)
            if problems:
                raise ValueError("refused in production: " + "; ".join(problems))
        return self

    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.var_dir / (self.service_name + '.db')}"

    @property
    def broker_url(self) -> str:
        from shared.brokerusers import service_url

        return self.amqp_url or service_url(self.service_name)

    @property
    def bus_batch_prefetch(self) -> int:
        """Prefetch when consuming in batches: room for the next batch while one is handled."""
        return max(self.bus_prefetch, 2 * self.bus_batch_size)

    @property
    def retry_schedule(self) -> list[float]:
        if self.bus_retry_schedule.strip():
            return [float(part) for part in self.bus_retry_schedule.split(",") if part.strip()]
        return retry_schedule(
            self.bus_retry_base_seconds, self.bus_retry_max_seconds, self.bus_retry_total_seconds
        )

    def queue_name(self, suffix: str = "") -> str:
        return f"{self.bus_queue_prefix}{self.service_name}{suffix}"


def retry_schedule(base: float, maximum: float, total: float) -> list[float]:
    """Waits doubling from `base`, each at most `maximum`, until they add up to `total`."""
    waits: list[float] = []
    while sum(waits) < total:
        waits.append(min(base * 2 ** len(waits), maximum))
    return waits
