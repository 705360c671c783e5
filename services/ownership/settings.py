from pathlib import Path
from typing import Annotated

from fastapi import Depends

from shared.service import Runtime, get_runtime
from shared.settings import ServiceSettings, service_field

REPO_ROOT = Path(__file__).resolve().parents[2]


class OwnershipSettings(ServiceSettings):
    service_name: str = "ownership"
    amqp_url: str | None = service_field("ownership", "amqp_url", None)
    port: int = service_field("ownership", "port", 8003)
    database_url: str | None = service_field("ownership", "database_url", None)
    organisation_file: Path = service_field(
        "ownership", "organisation_file", Path("config/organisation.toml")
    )

    policy_profiles_file: Path = service_field(
        "ownership", "policy_profiles_file", Path("config/policy_profiles.toml")
    )

    # How often each replica looks for due SLA timers, and how many it claims per transaction.
    timer_poll_seconds: float = service_field("ownership", "timer_poll_seconds", 1.0)
    timer_batch: int = service_field("ownership", "timer_batch", 200)

    @property
    def organisation_path(self) -> Path:
        """A relative ORGANISATION_FILE is read from the repository root, whatever the cwd."""
        return _from_root(self.organisation_file)

    @property
    def policy_profiles_path(self) -> Path:
        return _from_root(self.policy_profiles_file)


def _from_root(path: Path) -> Path:
    path = path.expanduser()
    return path if path.is_absolute() else REPO_ROOT / path


# The service's runtime, its settings typed as its own (see shared.service.Runtime).
OwnershipRuntime = Runtime[OwnershipSettings]
OwnershipRuntimeDep = Annotated[OwnershipRuntime, Depends(get_runtime)]
