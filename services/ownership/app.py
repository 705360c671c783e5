"""Composition root of the ownership service."""

from pathlib import Path

from fastapi import FastAPI

from services.ownership import erasure, organisation_sync, timers
from services.ownership.admin_api import router as admin_router
from services.ownership.api import router
from services.ownership.consumers import build_handlers
from services.ownership.link_api import router as link_router
from services.ownership.models import metadata
from services.ownership.organisation import read_organisation
from services.ownership.policies import read_policies
from services.ownership.policy_api import router as policy_router
from services.ownership.settings import OwnershipRuntime, OwnershipSettings
from shared import accesslog
from shared.erasure import personal_data_router
from shared.logging import get_logger
from shared.service import ServiceSpec, create_service_app

log = get_logger(__name__)


async def load_organisation(rt: OwnershipRuntime) -> None:
    """Write the organisation file into the database before any complaint is assigned."""
    settings = rt.settings
    path = settings.organisation_path
    organisation = read_organisation(path)
    async with rt.uow() as uow:
        await organisation_sync.sync_organisation(uow.conn, organisation)
        planned = await timers.plan_missing(uow.conn)
        await uow.commit()
    log.info("organisation_loaded", file=str(path), teams=len(organisation.teams), timers=planned)


def create_app(settings: OwnershipSettings | None = None) -> FastAPI:
    settings = settings or OwnershipSettings()
    # Read before anything starts: a bad profiles file stops the service with its reason.
    policies = read_policies(settings.policy_profiles_path)
    app = create_service_app(
        ServiceSpec(
            settings=settings,
            metadata=metadata,
            migrations_dir=Path(__file__).parent / "migrations",
            title="Ownership",
            description=(
                "Cases with exactly one owner from intake to the customer's confirmation: "
                "assignment, department tasks with SLAs, resolution proposals and hand-overs. "
                "There is no endpoint that closes a case."
            ),
            routers=[
                router,
                link_router,
                admin_router,
                policy_router,
                personal_data_router("ownership", erasure.HOLDINGS),
                accesslog.router,
            ],
            handlers=build_handlers,
            on_start=[load_organisation],
            workers=[timers.timer_worker(settings.timer_poll_seconds, settings.timer_batch)],
        )
    )
    app.state.policies = policies
    return app
