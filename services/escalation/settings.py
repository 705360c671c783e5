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

    @property
    def catalogue_path(self) -> Path:
        return _from_root(self.catalogue_file)

    @property
    def rules_path(self) -> Path:
        return _from_root(self.priority_rules_file)

    @property
    def escalation_path(self) -> Path:
        return _from_root(self.escalation_file)
