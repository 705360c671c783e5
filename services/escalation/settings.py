from pathlib import Path

from shared.settings import ServiceSettings, service_field

REPO_ROOT = Path(__file__).resolve().parents[2]


class EscalationSettings(ServiceSettings):
    service_name: str = "escalation"
    port: int = service_field("escalation", "port", 8002)
    database_url: str | None = service_field("escalation", "database_url", None)
    priority_rules_file: Path = service_field(
        "escalation", "priority_rules_file", Path("config/priority_rules.toml")
    )

    @property
    def rules_path(self) -> Path:
        """The rules file; a relative path is taken from the repository root, not the cwd."""
        path = self.priority_rules_file.expanduser()
        return path if path.is_absolute() else REPO_ROOT / path
