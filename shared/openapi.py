"""Every error status in the OpenAPI document, with the one error body the services answer.

FastAPI documents the 2xx and its own 422 (with a body no service sends). Each operation here
also gets, from what the route itself declares:

* 401 and 403 when it authenticates (depends on `shared.auth.authenticate`);
* 422 when it takes parameters or a body, and 400 and 413 when it takes a body (unreadable,
  too large: `shared.limits`);
* 404 when its path has parameters (the thing named is not there);
* 409 when it honours `Idempotency-Key` (the key reused for another request);
* 503 (a database or broker fault, with `Retry-After`), except on the operations routes, which
  answer for themselves.

What only the use case knows (a state conflict, a rate limit, a refused webhook) a route or
router declares with `responses=error_responses(409, ...)`; what a route declares wins.
"""

import http
import json
from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts

from shared.auth import authenticate
from shared.errors import ErrorBody

ERROR_SCHEMA = "ErrorBody"
ERROR_REF = f"#/components/schemas/{ERROR_SCHEMA}"
IDEMPOTENCY_HEADER = "idempotency-key"
# Routes that touch no database or broker of their own and document their own answers.
SELF_DOCUMENTED_TAGS = frozenset({"operations"})

DESCRIPTIONS: dict[int, str] = {
    400: "The request body could not be read.",
    401: "No valid bearer token (or, on webhooks, no valid signature).",
    403: "The caller's role or identity may not do this.",
    404: "The resource named in the path does not exist.",
    409: "The resource's state does not allow this, or the Idempotency-Key was used for "
    "another request.",
    410: "No longer available.",
    413: "The request body is larger than accepted here.",
    422: "The request is not valid; `fields` says where.",
    429: "Too many requests from this source; retry after `Retry-After` seconds.",
    503: "A database or broker this service depends on is unavailable; retry after "
    "`Retry-After` seconds. Nothing was written.",
}
_RETRY_AFTER = {
    "Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}},
}


def error_response(status: int) -> dict[str, Any]:
    """The OpenAPI response object of an error status, with the error body."""
    response: dict[str, Any] = {
        "description": DESCRIPTIONS.get(status) or http.HTTPStatus(status).phrase,
        "content": {"application/json": {"schema": {"$ref": ERROR_REF}}},
    }
    if status in (429, 503):
        response["headers"] = dict(_RETRY_AFTER)
    return response


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """For a route's or router's `responses=`: these statuses answer the error body."""
    return {status: error_response(status) for status in statuses}


def inferred_statuses(route: RouteContext) -> set[int]:
    """The error statuses a route answers by what it declares (see the module's docstring)."""
    statuses: set[int] = set()
    if SELF_DOCUMENTED_TAGS.isdisjoint(str(t) for t in route.tags):
        statuses.add(503)
    dependants = list(_walk(route.dependant))
    if any(d.call is authenticate for d in dependants):
        statuses |= {401, 403}
    params = [p for d in dependants for p in (*d.path_params, *d.query_params)]
    headers = [p for d in dependants for p in (*d.header_params, *d.cookie_params)]
    if params or headers or route.body_field is not None:
        statuses.add(422)
    if route.body_field is not None:
        statuses |= {400, 413}
    if any(d.path_params for d in dependants):
        statuses.add(404)
    if any((p.alias or p.name).lower() == IDEMPOTENCY_HEADER for p in headers):
        statuses.add(409)
    return statuses


def _walk(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for child in dependant.dependencies:
        yield from _walk(child)


def document_errors(schema: dict[str, Any], routes: list[Any]) -> dict[str, Any]:
    """Add the error statuses and the error body to an OpenAPI document generated from
    `routes`; replaces FastAPI's validation-error schema, which the services never send."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    definitions = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(definitions.pop("$defs", {}))
    components[ERROR_SCHEMA] = definitions
    for route in iter_route_contexts(routes):
        if not isinstance(route.original_route, APIRoute) or not route.include_in_schema:
            continue
        declared = {str(s) for s in route.responses}
        for method in route.methods or ():
            operation = schema["paths"][route.path_format][method.lower()]
            responses = operation.setdefault("responses", {})
            for status in sorted(inferred_statuses(route)):
                if str(status) not in declared:
                    responses[str(status)] = error_response(status)
            if "422" in responses and "422" not in declared:
                responses["422"] = error_response(422)
    for unused in ("HTTPValidationError", "ValidationError"):
        if f'"#/components/schemas/{unused}"' not in json.dumps(schema):
            components.pop(unused, None)
    return schema


def install_error_documentation(app: FastAPI) -> None:
    """Make `app.openapi()` (and /openapi.json, /docs) document the error statuses."""
    generate: Callable[[], dict[str, Any]] = app.openapi
    documented: list[int] = []  # the id of the last document completed here

    def openapi() -> dict[str, Any]:
        schema = generate()  # FastAPI's own, generated again when the routes changed
        if documented != [id(schema)]:
            documented[:] = [id(document_errors(schema, app.routes))]
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
