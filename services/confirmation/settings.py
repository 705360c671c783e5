import tomllib
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import Depends
from pydantic import Field, model_validator

from services.confirmation.quiet_hours import HOLDABLE, QuietHours
from shared.service import Runtime, get_runtime
from shared.settings import ServiceSettings, service_field

DEV_TOKEN_HASH_SECRET = "development-only-token-hash-secret-0123456789"
DEV_VISITOR_HASH_SECRET = "development-only-visitor-hash-secret-0123456789"
REPO_ROOT = Path(__file__).resolve().parents[2]


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
        "token_hash_secret",
        "visitor_hash_secret",
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
    # Mail to this address, and texts to this number, that answer no question are complaints:
    # passed to intake (complaint.submitted), which opens a case or joins the sender's open one.
    complaints_address: str = _env("complaints_address", "complaints@complaints.localhost")
    sms_complaints_number: str | None = _env("sms_complaints_number", "+15005550007")
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
    web_token_ttl_hours: float = _env("web_token_ttl_hours", 48.0)
    # Token hashes are keyed, so a stolen table cannot be searched offline for short SMS codes.
    token_hash_secret: str = _env("token_hash_secret", DEV_TOKEN_HASH_SECRET)
    # Who opened a page is kept as HMACs of their IP and user agent, never in clear.
    visitor_hash_secret: str = _env("visitor_hash_secret", DEV_VISITOR_HASH_SECRET)
    delivery_timeout_seconds: float = _env("delivery_timeout_seconds", 10.0)

    # Tell the customer, on their channel, that their case is opened and who owns it.
    acknowledgement_enabled: bool = _env("acknowledgement_enabled", True)
    # After the customer's yes by email or SMS, one question: how did we do (1-5)? Answered
    # within 14 days (surveys.ANSWER_WINDOW), the answer is announced; it never affects closure.
    survey_enabled: bool = _env("survey_enabled", True)

    # No answer: reminders at these hours after the request, then confirmation.no_answer.
    reminder_schedule_hours: str = _env("reminder_schedule_hours", "48,120")
    no_answer_after_hours: float = _env("no_answer_after_hours", 48.0)
    reminder_poll_seconds: float = _env("reminder_poll_seconds", 60.0)
    # At most this many messages to one contact within the window; the rest wait.
    outbound_max_per_contact: int = _env("outbound_max_per_contact", 5)
    outbound_rate_window_hours: float = _env("outbound_rate_window_hours", 24.0)
    # No text message of these kinds between these local hours in the customer's time zone (from
    # the number); it waits for the morning. By default the reminders, which nobody is waiting
    # for; "reminder,request,final_response" holds the owner's messages too. The acknowledgement
    # answers the customer's own message and is never held.
    quiet_hours_enabled: bool = _env("quiet_hours_enabled", True)
    quiet_hours_kinds: str = _env("quiet_hours_kinds", "reminder,survey")
    quiet_hours_start: Annotated[int, Field(ge=0, le=23)] = _env("quiet_hours_start", 21)
    quiet_hours_end: Annotated[int, Field(ge=0, le=23)] = _env("quiet_hours_end", 8)
    quiet_hours_default_zone: str = _env("quiet_hours_default_zone", "UTC")

    # Independent audits of closed cases.
    audit_sample_rate: float = _env("audit_sample_rate", 0.05)
    # An attested yes has only the owner as witness: every one is audited unless set lower.
    audit_attested_sample_rate: float = _env("audit_attested_sample_rate", 1.0)
    # Comma-separated ids; when unset, the `auditors` list of AUDITORS_FILE (the demo
    # organisation's, config/auditors.toml), so audits are on wherever the file is.
    auditors: str = _env("auditors", "")
    auditors_file: Path = _env("auditors_file", Path("config/auditors.toml"))
    # An audit still open this long after the closure escalates (`audit.overdue`).
    audit_due_hours: float = _env("audit_due_hours", 72.0)
    audit_poll_seconds: float = _env("audit_poll_seconds", 60.0)

    @model_validator(mode="after")
    def _refuse_confirmation_defaults_in_production(self) -> "ConfirmationSettings":
        if self.app_env != "production":
            return self
        for name, value, default in (
            ("TOKEN_HASH_SECRET", self.token_hash_secret, DEV_TOKEN_HASH_SECRET),
            ("VISITOR_HASH_SECRET", self.visitor_hash_secret, DEV_VISITOR_HASH_SECRET),
        ):
            if value == default or len(value.encode()) < 32:
                raise ValueError(f"CONFIRMATION_{name} must be a real secret of 32+ bytes")
        if not self.auditor_ids:
            raise ValueError("AUDITORS (or AUDITORS_FILE) must name the auditors in production")
        return self

    @property
    def reminder_hours(self) -> list[float]:
        return [float(h) for h in self.reminder_schedule_hours.split(",") if h.strip()]

    @property
    def auditor_ids(self) -> list[str]:
        if self.auditors.strip():
            return [a.strip() for a in self.auditors.split(",") if a.strip()]
        return _auditors_in(self.auditors_file)

    # Abuse limits on the public endpoints: the page, the provider webhooks, the SMTP listener.
    max_body_bytes: int = _env("max_body_bytes", 1024 * 1024)
    webhook_max_body_bytes: int = _env("webhook_max_body_bytes", 1024 * 1024)
    page_max_body_bytes: int = _env("page_max_body_bytes", 32 * 1024)
    mail_max_parts: int = _env("mail_max_parts", 100)
    mail_max_depth: int = _env("mail_max_depth", 8)
    mail_parse_timeout_seconds: float = _env("mail_parse_timeout_seconds", 10.0)
    mail_parse_workers: int = _env("mail_parse_workers", 2)
    # Requests per minute from one source (the client's IP; the SMTP peer), then 429 / 450.
    page_rate_per_minute: int = _env("page_rate_per_minute", 30)
    webhook_rate_per_minute: int = _env("webhook_rate_per_minute", 600)
    smtp_rate_per_minute: int = _env("smtp_rate_per_minute", 60)
    # Sender authentication: only the Authentication-Results header of this authserv-id counts.
    email_trusted_authserv_id: str = _env("email_trusted_authserv_id", "")
    # Unset: required in production, not in development and test (plain SMTP has no DMARC).
    email_require_dmarc: bool | None = _env("email_require_dmarc", None)

    @property
    def quiet_hours(self) -> QuietHours | None:
        if not self.quiet_hours_enabled:
            return None
        kinds = frozenset(k.strip() for k in self.quiet_hours_kinds.split(",") if k.strip())
        return QuietHours(
            self.quiet_hours_start, self.quiet_hours_end, self.quiet_hours_default_zone, kinds
        )

    @model_validator(mode="after")
    def _quiet_hours_zone_exists(self) -> "ConfirmationSettings":
        unknown = set(self.quiet_hours_kinds.replace(" ", "").split(",")) - {*HOLDABLE, ""}
        if unknown:
            raise ValueError(f"QUIET_HOURS_KINDS: {sorted(unknown)} are not {sorted(HOLDABLE)}")
        try:
            ZoneInfo(self.quiet_hours_default_zone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"QUIET_HOURS_DEFAULT_ZONE {self.quiet_hours_default_zone!r} is no time zone"
            ) from exc
        return self

    @property
    def body_limits(self) -> dict[str, int]:
        return {"/v1/inbound/": self.webhook_max_body_bytes, "/c/": self.page_max_body_bytes}

    @property
    def require_dmarc(self) -> bool:
        if self.email_require_dmarc is None:
            return self.app_env == "production"
        return self.email_require_dmarc

    @model_validator(mode="after")
    def _dmarc_needs_a_trusted_host(self) -> "ConfirmationSettings":
        # Required DMARC with nobody's verdict trusted would refuse every customer's mail.
        if self.require_dmarc and self.smtp_listen_enabled and not self.email_trusted_authserv_id:
            raise ValueError(
                "EMAIL_REQUIRE_DMARC needs EMAIL_TRUSTED_AUTHSERV_ID: the receiving mail host "
                "whose Authentication-Results are believed"
            )
        return self


def _auditors_in(file: Path) -> list[str]:
    """A relative AUDITORS_FILE is read from the repository root; a missing file names nobody."""
    path = file.expanduser()
    path = path if path.is_absolute() else REPO_ROOT / path
    try:
        listed = tomllib.loads(path.read_text(encoding="utf-8")).get("auditors", [])
    except FileNotFoundError:
        return []
    return [str(a).strip() for a in listed if str(a).strip()]


# The service's runtime, its settings typed as its own (see shared.service.Runtime).
ConfirmationRuntime = Runtime[ConfirmationSettings]
ConfirmationRuntimeDep = Annotated[ConfirmationRuntime, Depends(get_runtime)]
