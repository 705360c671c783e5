from typing import Any

from shared.settings import ServiceSettings, service_field


def _env(name: str, default: Any) -> Any:
    """`CONFIRMATION_<NAME>` or plain `<NAME>` from the environment."""
    return service_field("confirmation", name, default)


class ConfirmationSettings(ServiceSettings):
    service_name: str = "confirmation"
    port: int = _env("port", 8004)
    database_url: str | None = _env("database_url", None)

    # Outbound mail: the confirmation request, sent to the customer's original address.
    smtp_host: str = _env("smtp_host", "127.0.0.1")
    smtp_port: int = _env("smtp_port", 1025)
    smtp_starttls: bool = _env("smtp_starttls", False)
    smtp_use_tls: bool = _env("smtp_use_tls", False)
    smtp_username: str | None = _env("smtp_username", None)
    smtp_password: str | None = _env("smtp_password", None)
    smtp_timeout: float = _env("smtp_timeout", 10.0)
    smtp_from: str = _env("smtp_from", "Complaints <confirm@complaints.localhost>")
    reply_address: str = _env("reply_address", "confirm@complaints.localhost")
    outbound_poll_seconds: float = _env("outbound_poll_seconds", 0.5)
    outbound_retry_base_seconds: float = _env("outbound_retry_base_seconds", 5.0)
    outbound_retry_max_seconds: float = _env("outbound_retry_max_seconds", 900.0)

    # Inbound mail: customers' replies arrive at the service's own SMTP listener.
    smtp_listen_enabled: bool = _env("smtp_listen_enabled", True)
    smtp_listen_host: str = _env("smtp_listen_host", "127.0.0.1")
    smtp_listen_port: int = _env("smtp_listen_port", 2525)
    smtp_listen_max_bytes: int = _env("smtp_listen_max_bytes", 10 * 1024 * 1024)
