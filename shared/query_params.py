"""Strict query parameters: one a route does not declare is refused with 422, not ignored.

A misspelt filter (`?stauts=open`) silently ignored answers a question nobody asked; refusing it
tells the client at once. The check runs before every other dependency of every route, so it
changes nothing and costs one set difference per request.
"""

from collections.abc import Iterator

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel

_declared: dict[int, frozenset[str]] = {}


def declared(route: APIRoute) -> frozenset[str]:
    """The query parameters the route and its dependencies declare, by their wire names."""
    names = _declared.get(id(route))
    if names is None:
        names = _declared[id(route)] = frozenset(_names(route.dependant))
    return names


def _names(dependant: Dependant) -> Iterator[str]:
    for param in dependant.query_params:
        model = param.field_info.annotation
        if isinstance(model, type) and issubclass(model, BaseModel):  # a model of parameters
            yield from (f.alias or name for name, f in model.model_fields.items())
        else:
            yield param.alias
    for sub in dependant.dependencies:
        yield from _names(sub)


async def refuse_unknown(request: Request) -> None:
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    unknown = sorted(set(request.query_params) - declared(route))
    if unknown:
        raise RequestValidationError(
            [
                {
                    "loc": ("query", name),
                    "msg": "Unknown query parameter.",
                    "type": "extra_forbidden",
                }
                for name in unknown
            ]
        )
