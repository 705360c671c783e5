from typing import Any

from shared.settings import ServiceSettings, service_field


def _env(name: str, default: Any) -> Any:
    """`CONFIRMATION_<NAME>` or plain `<NAME>` from the environment."""
    return service_field("confirmation", name, default)


class ConfirmationSettings(ServiceSettings):
    service_name: str = "confirmation"
    amqp_url: str | None = service_field("confirmation", "amqp_url", None)
    secret_fields = (
        *ServiceSettings.secret_fields,
        "sms_token",
        "sms_webhook_secret",
        "email_webhook_secret",
    )
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

    # SMS: a Twilio-style gateway (form POST to {url}/Messages, HTTP basic auth).
    sms_gateway_url: str = _env("sms_gateway_url", "http://127.0.0.1:8090")
    sms_account: str = _env("sms_account", "development-account")
    sms_token: str = _env("sms_token", "development-token")
    sms_from: str = _env("sms_from", "+15005550006")
    sms_default_region: str = _env("sms_default_region", "US")
    # Signed webhooks (HMAC-SHA256 over "<timestamp>.<raw body>").
    sms_webhook_secret: str = _env("sms_webhook_secret", "development-sms-webhook-secret")
    email_webhook_secret: str = _env("email_webhook_secret", "development-email-webhook-secret")
    webhook_max_age_seconds: int = _env("webhook_max_age_seconds", 300)

    # Web and chat: the confirmation page's single-use link.
    public_base_url: str = _env("public_base_url", "http://127.0.0.1:8004")
    web_token_ttl_hours: float = _env("web_token_ttl_hours", 14 * 24.0)

    # No answer: reminders at these hours after the request, then confirmation.no_answer.
    reminder_schedule_hours: str = _env("reminder_schedule_hours", "48,120")
    no_answer_after_hours: float = _env("no_answer_after_hours", 48.0)
    reminder_poll_seconds: float = _env("reminder_poll_seconds", 60.0)
    # At most this many messages to one contact within the window; the rest wait.
    outbound_max_per_contact: int = _env("outbound_max_per_contact", 5)
    outbound_rate_window_hours: float = _env("outbound_rate_window_hours", 24.0)

    # Independent audits of closed cases.
    audit_sample_rate: float = _env("audit_sample_rate", 0.05)
    audit_attested_sample_rate: float = _env("audit_attested_sample_rate", 0.25)
    auditors: str = _env("auditors", "")

    @property
    def reminder_hours(self) -> list[float]:
        return [float(h) for h in self.reminder_schedule_hours.split(",") if h.strip()]

    @property
    def auditor_ids(self) -> list[str]:
        return [a.strip() for a in self.auditors.split(",") if a.strip()]
