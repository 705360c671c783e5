"""The layout's vocabulary holds: a file's name says the role it plays in every service."""

import re
from pathlib import Path

SERVICES = Path(__file__).resolve().parents[2] / "services"
RETIRED = {"handlers.py", "handler.py", "use_cases.py", "utils.py", "helpers.py", "misc.py"}


def modules() -> list[Path]:
    return [p for p in SERVICES.rglob("*.py") if "migrations" not in p.parts]


def test_no_module_has_a_retired_name() -> None:
    offenders = [p for p in modules() if p.name in RETIRED or p.stem.endswith("_handlers")]
    assert offenders == []


def test_routes_live_only_in_api_modules() -> None:
    allowed = re.compile(r"^(api|\w+_api)\.py$")
    offenders = [
        str(p.relative_to(SERVICES))
        for p in modules()
        if "APIRouter(" in p.read_text()
        and not allowed.match(p.name)
        and not (p.parent.name == "console" and p.name.startswith("pages_"))
    ]
    assert offenders == []


def test_every_service_has_the_same_core_files() -> None:
    core = {"settings.py", "models.py", "app.py", "consumers.py", "api.py", "domain.py"}
    for service in ("intake", "ownership", "escalation", "confirmation", "analytics"):
        present = {p.name for p in (SERVICES / service).glob("*.py")}
        assert core <= present, (service, sorted(core - present))
