"""A subject access request: one document with everything the services hold about a customer.

Intake gathers its own rows and asks every other service (`GET /v1/personal-data`) with the
caller's own bearer token, so each service decides for itself who may read. One service not
answering fails the export: a partial copy would tell the customer we hold less than we do.
"""

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.intake.models import (
    complaints,
    contacts,
    customer_identifiers,
    customers,
    erasure_requests,
    legal_holds,
)
from services.intake.settings import IntakeSettings
from shared.errors import DomainError, NotFound

EXPORTED_BY_SERVICE = ("escalation", "ownership", "confirmation")

templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
)


def _plain(row: Any) -> dict[str, Any]:
    return {
        k: v.isoformat() if isinstance(v, datetime) else v for k, v in dict(row._mapping).items()
    }


async def own_data(conn: AsyncConnection, customer_id: str) -> dict[str, Any]:
    row = (await conn.execute(select(customers).where(customers.c.id == customer_id))).first()
    if row is None:
        raise NotFound("customer_not_found", f"No customer {customer_id}.")
    ids = customer_identifiers.c
    held = await conn.execute(
        select(ids.kind, ids.value, ids.created_at).where(ids.customer_id == customer_id)
    )
    customer = _plain(row) | {"identifiers": [_plain(i) for i in held]}
    found = await conn.execute(
        select(complaints).where(complaints.c.customer_id == customer_id).order_by("received_at")
    )
    documents = []
    for complaint in found.all():
        more = await conn.execute(
            select(contacts).where(contacts.c.complaint_id == complaint.id).order_by("received_at")
        )
        documents.append(_plain(complaint) | {"contacts": [_plain(c) for c in more]})
    hold = (
        await conn.execute(select(legal_holds).where(legal_holds.c.customer_id == customer_id))
    ).first()
    requests = await conn.execute(
        select(erasure_requests).where(erasure_requests.c.customer_id == customer_id)
    )
    return {
        "customer": customer,
        "complaints": documents,
        "legal_hold": _plain(hold) if hold else None,
        "erasure_requests": [_plain(r) for r in requests],
    }


async def gather(
    settings: IntakeSettings, own: dict[str, Any], authorization: str
) -> list[dict[str, Any]]:
    """Each complaint with what every service holds of it; unreachable → 503."""
    gathered = []
    async with httpx.AsyncClient(
        timeout=settings.export_timeout_seconds, headers={"Authorization": authorization}
    ) as client:
        for complaint in own["complaints"]:
            services = {}
            for service in EXPORTED_BY_SERVICE:
                services[service] = await _ask(client, settings, service, complaint["id"])
            gathered.append({"intake": complaint, "services": services})
    return gathered


async def _ask(
    client: httpx.AsyncClient, settings: IntakeSettings, service: str, complaint_id: str
) -> Any:
    url = f"{settings.service_url(service)}/v1/personal-data"
    try:
        answer = await client.get(url, params={"complaint_id": complaint_id})
    except httpx.HTTPError as exc:
        raise _unavailable(service, type(exc).__name__) from exc
    if answer.status_code != 200:
        raise _unavailable(service, f"HTTP {answer.status_code}")
    return answer.json()["tables"]


def _unavailable(service: str, why: str) -> DomainError:
    return DomainError(
        "service_unavailable",
        f"The {service} service did not answer ({why}); no partial export is given.",
        503,
        service=service,
    )


def document(own: dict[str, Any], gathered: list[dict[str, Any]], by: str) -> dict[str, Any]:
    return {
        "exported_at": datetime.now(UTC).isoformat(),
        "exported_by": by,
        "customer": own["customer"],
        "legal_hold": own["legal_hold"],
        "erasure_requests": own["erasure_requests"],
        "complaints": gathered,
    }


def html(doc: dict[str, Any]) -> str:
    return templates.get_template("export.html").render(doc=doc)
