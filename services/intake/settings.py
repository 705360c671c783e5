import os

from pydantic import Field, field_validator

from shared.settings import ServiceSettings, service_field


class IntakeSettings(ServiceSettings):
    service_name: str = "intake"
    amqp_url: str | None = service_field("intake", "amqp_url", None)
    secret_fields = (*ServiceSettings.secret_fields, "customer_key_secret")
    port: int = service_field("intake", "port", 8001)
    database_url: str | None = service_field("intake", "database_url", None)
    customer_key_secret: str = Field(
        "development-customer-key-secret",
        description="HMAC key turning a customer's identity into the pseudonym others see.",
    )
    default_phone_region: str = Field("US", description="Region assumed for numbers without +CC.")
    workers: int | None = Field(
        None,
        ge=1,
        validation_alias="INTAKE_WORKERS",
        description="Processes serving the API (default: the cores). One on SQLite.",
    )

    @field_validator("workers", mode="before")
    @classmethod
    def _unset_when_empty(cls, value: object) -> object:
        return None if value == "" else value  # `INTAKE_WORKERS=` as compose passes an unset one

    def worker_count(self) -> int:
        """Intake keeps no state between requests, so it runs a process per core. On SQLite one:
        the file takes one writer at a time and its outbox relay cannot skip a claimed row."""
        if self.db_url.startswith("sqlite"):
            return 1
        return self.workers or len(os.sched_getaffinity(0))

    join_window_days: float = service_field("intake", "join_window_days", 30.0)
