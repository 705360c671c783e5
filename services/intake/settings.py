import os
from typing import Annotated

from fastapi import Depends
from pydantic import Field, field_validator

from shared.service import Runtime, get_runtime
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
    # The category of a complaint that arrived by email or SMS, which names none.
    submitted_category: str = service_field("intake", "submitted_category", "general")

    # Data protection: how long after its last complaint closed a customer's data is kept, how
    # often the background pass looks, and which services must confirm an erasure.
    retention_days: float = service_field("intake", "retention_days", 2192.0)
    erasure_poll_seconds: float = service_field("intake", "erasure_poll_seconds", 60.0)
    erasure_services: list[str] = service_field(
        "intake",
        "erasure_services",
        ["intake", "escalation", "ownership", "confirmation", "analytics"],
    )
    # Where the services answer for a subject access export; by default where scripts/run.py
    # starts them (their <SERVICE>_PORT).
    escalation_url: str = service_field("intake", "escalation_url", "")
    ownership_url: str = service_field("intake", "ownership_url", "")
    confirmation_url: str = service_field("intake", "confirmation_url", "")
    analytics_url: str = service_field("intake", "analytics_url", "")
    export_timeout_seconds: float = 10.0

    def service_url(self, service: str) -> str:
        configured: str = getattr(self, f"{service}_url")
        if configured:
            return configured.rstrip("/")
        default = {"escalation": 8002, "ownership": 8003, "confirmation": 8004, "analytics": 8005}
        port = os.environ.get(f"{service.upper()}_PORT", str(default[service]))
        return f"http://{self.host}:{port}"


# The service's runtime, its settings typed as its own (see shared.service.Runtime).
IntakeRuntime = Runtime[IntakeSettings]
IntakeRuntimeDep = Annotated[IntakeRuntime, Depends(get_runtime)]
