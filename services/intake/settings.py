from pydantic import Field

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
    join_window_days: float = service_field("intake", "join_window_days", 30.0)
