"""The AsyncAPI 3.0 map of the bus, made from the code that runs it.

Payloads come from the models of `shared.events`, who sends each event type from
`shared.publishers.OWNERS`, who receives it from each service's queue bindings and handler table
(`Subscription`, see `shared.service.subscription_of`). Nothing here is written by hand, so the
map cannot drift from the code: `scripts/asyncapi.py` writes the whole system's to
`docs/asyncapi.json` (a test compares), and each service serves its own at `/asyncapi.json`.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from shared.events import EVENT_DATA, Envelope
from shared.publishers import OWNERS, may_carry_suffix

if TYPE_CHECKING:
    from shared.service import ServiceSpec

ASYNCAPI_VERSION = "3.0.0"
AMQP_BINDING = "0.3.0"
SCHEMA_REF = "#/components/schemas/{model}"


@dataclass(frozen=True)
class Subscription:
    """What one service's queue is bound to and which event types its handlers take
    (`handles` None: every event its bindings bring, as a batch consumer takes them)."""

    service: str
    queue: str
    bindings: tuple[str, ...]
    handles: tuple[str, ...] | None


def topic_matches(binding: str, routing_key: str) -> bool:
    """RabbitMQ's topic match: `*` is one word, `#` zero or more."""

    def match(pattern: list[str], words: list[str]) -> bool:
        if not pattern:
            return not words
        head, rest = pattern[0], pattern[1:]
        if head == "#":
            return any(match(rest, words[i:]) for i in range(len(words) + 1))
        if not words:
            return False
        return (head in ("*", words[0])) and match(rest, words[1:])

    return match(binding.split("."), routing_key.split("."))


def received(subscription: Subscription) -> dict[str, str]:
    """Each event type the service receives, with the first binding that brings it."""
    found: dict[str, str] = {}
    for event_type in sorted(OWNERS):
        if subscription.handles is not None and event_type not in subscription.handles:
            continue
        for binding in subscription.bindings:
            if topic_matches(binding, event_type) or (
                may_carry_suffix(event_type) and topic_matches(binding, f"{event_type}.x")
            ):
                found[event_type] = binding
                break
    return found


def _schemas() -> tuple[dict[str, Any], dict[str, str]]:
    """Every payload model's JSON schema under components, and each event type's data ref."""
    models: list[type[BaseModel]] = [Envelope, *dict.fromkeys(EVENT_DATA.values())]
    keys, definitions = models_json_schema(
        [(m, "serialization" if m is Envelope else "validation") for m in models],
        ref_template=SCHEMA_REF,
    )
    schemas = dict(definitions.get("$defs", {}))
    refs = {t: keys[(m, "validation")]["$ref"] for t, m in EVENT_DATA.items()}
    return schemas, refs


def _channel(event_type: str, exchange: str) -> dict[str, Any]:
    channel: dict[str, Any] = {
        "address": event_type,
        "title": event_type,
        "messages": {"event": {"$ref": f"#/components/messages/{event_type}"}},
        "bindings": {
            "amqp": {
                "is": "routingKey",
                "exchange": {
                    "name": exchange,
                    "type": "topic",
                    "durable": True,
                    "autoDelete": False,
                    "vhost": "/",
                },
                "bindingVersion": AMQP_BINDING,
            }
        },
    }
    if may_carry_suffix(event_type):
        channel["description"] = (
            f"Published as `{event_type}.<department>` when it concerns a department's task, "
            f"so a department's queue binds `{event_type}.<its name>`."
        )
    return channel


def _message(event_type: str, data_ref: str) -> dict[str, Any]:
    model = EVENT_DATA[event_type]
    message: dict[str, Any] = {
        "name": event_type,
        "title": model.__name__,
        "contentType": "application/json",
        "payload": {
            "allOf": [
                {"$ref": SCHEMA_REF.format(model="Envelope")},
                {
                    "type": "object",
                    "properties": {"type": {"const": event_type}, "data": {"$ref": data_ref}},
                },
            ]
        },
        "bindings": {
            "amqp": {"messageType": event_type, "bindingVersion": AMQP_BINDING},
        },
    }
    if model.__doc__:
        message["summary"] = " ".join(model.__doc__.split())
    return message


def _operations(subscriptions: Iterable[Subscription], sends: set[str]) -> dict[str, Any]:
    operations: dict[str, Any] = {}
    for event_type in sorted(sends):
        owner = OWNERS[event_type]
        operations[f"{owner}.send.{event_type}"] = {
            "action": "send",
            "title": f"{owner} publishes {event_type}",
            "channel": {"$ref": f"#/channels/{event_type}"},
            "messages": [{"$ref": f"#/channels/{event_type}/messages/event"}],
            "bindings": {
                "amqp": {"deliveryMode": 2, "userId": owner, "bindingVersion": AMQP_BINDING}
            },
            "x-service": owner,
        }
    for subscription in subscriptions:
        for event_type, binding in received(subscription).items():
            name = f"{subscription.service}.receive.{event_type}"
            operations[name] = {
                "action": "receive",
                "title": f"{subscription.service} consumes {event_type}",
                "channel": {"$ref": f"#/channels/{event_type}"},
                "messages": [{"$ref": f"#/channels/{event_type}/messages/event"}],
                "bindings": {"amqp": {"ack": True, "bindingVersion": AMQP_BINDING}},
                "x-service": subscription.service,
                "x-queue": subscription.queue,
                "x-binding": binding,
            }
    return dict(sorted(operations.items()))


def document(
    subscriptions: Sequence[Subscription],
    *,
    services: Sequence[str],
    exchange: str,
    title: str,
) -> dict[str, Any]:
    """The AsyncAPI document of what `services` send (their owned types) and what the
    `subscriptions` receive; the channels and messages of those event types only."""
    sends = {t for t, owner in OWNERS.items() if owner in services}
    receives = {t for s in subscriptions for t in received(s)}
    types = sorted(sends | receives)
    schemas, refs = _schemas()
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": title,
            "version": "1",
            "description": (
                "Events on the RabbitMQ topic exchange, routing key = event type. Each service "
                "publishes only the types it owns, as its own broker user (`user_id`); each "
                "consumes from its own durable quorum queue (`BUS_QUEUE_PREFIX` + its name), "
                "idempotently by `event_id`."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {
            "broker": {
                "host": "127.0.0.1:5672",
                "protocol": "amqp",
                "protocolVersion": "0.9.1",
                "description": "RabbitMQ (the development default; `AMQP_URL` elsewhere).",
            }
        },
        "channels": {t: _channel(t, exchange) for t in types},
        "operations": _operations(subscriptions, sends),
        "components": {
            "messages": {t: _message(t, refs[t]) for t in types},
            "schemas": dict(sorted(schemas.items())),
        },
    }


def subscription_of(spec: "ServiceSpec") -> Subscription:
    """What the service's queue binds and which event types its handler table takes (the
    table built as at start, on adapters that are never connected)."""
    from shared.service import ANY_EVENT, bindings_of, build_runtime

    name = spec.settings.service_name
    if spec.batch_handler is not None:
        return Subscription(name, name, tuple(bindings_of(spec, {})), None)
    table = spec.handlers(build_runtime(spec)) if spec.handlers is not None else {}
    handles = None if ANY_EVENT in table else tuple(sorted(table))
    return Subscription(name, name, tuple(bindings_of(spec, table)), handles)


def service_document(spec: "ServiceSpec") -> dict[str, Any]:
    """One service's events: what it sends and what it receives."""
    return document(
        [subscription_of(spec)],
        services=[spec.settings.service_name],
        exchange=spec.settings.bus_exchange,
        title=f"{spec.title} events",
    )


async def served(request: Request) -> JSONResponse:
    """GET /asyncapi.json: public, like /openapi.json (made once per process)."""
    state = request.app.state
    if getattr(state, "asyncapi", None) is None:
        state.asyncapi = service_document(state.spec)
    return JSONResponse(state.asyncapi)
