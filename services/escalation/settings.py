from pathlib import Path

from shared.settings import ServiceSettings, service_field

REPO_ROOT = Path(__file__).resolve().parents[2]


def _from_root(path: Path) -> Path:
    """A relative path is taken from the repository root, not the cwd."""
    path = path.expanduser()
    return path if path.is_absolute() else REPO_ROOT / path


class EscalationSettings(ServiceSettings):
    service_name: str = "escalation"
    amqp_url: str | None = service_field("escalation", "amqp_url", None)
    port: int = service_field("escalation", "port", 8002)
    database_url: str | None = service_field("escalation", "database_url", None)
    priority_rules_file: Path = service_field(
        "escalation", "priority_rules_file", Path("config/priority_rules.toml")
    )
    escalation_file: Path = service_field(
        "escalation", "escalation_file", Path("config/escalation.toml")
    )
    catalogue_file: Path = service_field(
        "escalation", "catalogue_file", Path("config/catalogue.toml")
    )
    # Escalations are mailed to the people of [notifications.email] in escalation.toml and
    # posted to the team's chat webhook (PUT /v1/team-webhooks/{team}); both retried until sent.
    notifications_enabled: bool = service_field("escalation", "notifications_enabled", True)
    smtp_host: str = service_field("escalation", "smtp_host", "127.0.0.1")
    smtp_port: int = service_field("escalation", "smtp_port", 1025)
    smtp_starttls: bool = service_field("escalation", "smtp_starttls", False)
    smtp_use_tls: bool = service_field("escalation", "smtp_use_tls", False)
    smtp_username: str | None = service_field("escalation", "smtp_username", None)
    smtp_password: str | None = service_field("escalation", "smtp_password", None)
    smtp_timeout: float = service_field("escalation", "smtp_timeout", 10.0)
    smtp_from: str = service_field(
        "escalation", "smtp_from", "Escalations <escalations@complaints.localhost>"
    )
    # Where a notification links to: the console's case page.
    console_url: str = service_field("escalation", "console_url", "http://127.0.0.1:8000")
    notification_poll_seconds: float = service_field("escalation", "notification_poll_seconds", 2.0)
    notification_retry_base_seconds: float = service_field(
        "escalation", "notification_retry_base_seconds", 5.0
    )
    notification_retry_max_seconds: float = service_field(
        "escalation", "notification_retry_max_seconds", 3600.0
    )
    webhook_timeout_seconds: float = service_field("escalation", "webhook_timeout_seconds", 10.0)

    @property
    def catalogue_path(self) -> Path:
        return _from_root(self.catalogue_file)

    @property
    def rules_path(self) -> Path:
        return _from_root(self.priority_rules_file)

    @property
    def escalation_path(self) -> Path:
        return _from_root(self.escalation_file)
