"""The AsyncAPI map: checked in as the code makes it, served by every service, and whole."""

import ast
import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.registry import APPS, system_asyncapi
from shared.asyncapi import ASYNCAPI_VERSION, received, subscription_of, topic_matches
from shared.events import EVENT_DATA
from shared.publishers import OWNERS, owned_by

ROOT = Path(__file__).resolve().parents[2]
CHECKED_IN = ROOT / "docs" / "asyncapi.json"


@pytest.fixture(scope="module")
def system() -> dict[str, Any]:
    return system_asyncapi()


def test_the_checked_in_document_is_what_the_code_makes(system: dict[str, Any]) -> None:
    checked_in = json.loads(CHECKED_IN.read_text(encoding="utf-8"))
    assert checked_in == system, "docs/asyncapi.json is stale: run scripts/asyncapi.py"


def resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = document
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for v in node.values() for r in refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in refs(v)]
    return []


def test_every_reference_resolves(system: dict[str, Any]) -> None:
    found = refs(system)
    assert len(found) > 100
    for ref in found:
        resolve(system, ref)


def test_every_event_type_is_a_channel_with_its_payload(system: dict[str, Any]) -> None:
    assert system["asyncapi"] == ASYNCAPI_VERSION
    assert set(system["channels"]) == set(EVENT_DATA)
    for event_type, model in EVENT_DATA.items():
        message = system["components"]["messages"][event_type]
        data = message["payload"]["allOf"][1]["properties"]["data"]
        assert resolve(system, data["$ref"])["title"] == model.__name__
        assert set(model.model_fields) <= set(resolve(system, data["$ref"])["properties"]) | {
            n for n, f in model.model_fields.items() if f.alias
        }


def test_each_type_is_sent_by_its_owner_alone(system: dict[str, Any]) -> None:
    sends = {
        op["channel"]["$ref"].split("/")[-1]: op["x-service"]
        for op in system["operations"].values()
        if op["action"] == "send"
    }
    assert sends == OWNERS
    assert set(OWNERS.values()) <= set(APPS), "every owner is a service that runs"


def test_every_consumed_key_has_a_producer_and_every_event_a_consumer() -> None:
    consumed: set[str] = set()
    for name, create in APPS.items():
        subscription = subscription_of(create().state.spec)
        for binding in subscription.bindings:
            assert any(topic_matches(binding, t) for t in OWNERS), (name, binding)
        for event_type in subscription.handles or ():
            assert event_type in OWNERS, f"{name} handles {event_type}, which nobody publishes"
        consumed |= set(received(subscription))
    assert consumed == set(OWNERS), f"nobody consumes {sorted(set(OWNERS) - consumed)}"


def published_literals(service: str) -> list[str]:
    """Event types written as literals in the calls that build events in a service's code."""
    found = []
    for path in (ROOT / "services" / service).rglob("*.py"):
        if "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            first = node.args[0]
            literal = first.value if isinstance(first, ast.Constant) else None
            if name.endswith("event") and isinstance(literal, str) and "." in literal:
                found.append(literal)
    return found


def test_every_key_a_service_publishes_is_owned_by_it() -> None:
    total = 0
    for service in APPS:
        literals = published_literals(service)
        total += len(literals)
        for event_type in literals:
            assert OWNERS.get(event_type) == service, (service, event_type)
        assert set(literals) <= set(owned_by(service))
    assert total > 20  # the scan sees the services' events


@pytest.mark.parametrize("service", sorted(APPS))
def test_each_service_serves_its_part_unauthenticated(service: str, system: dict[str, Any]) -> None:
    response = TestClient(APPS[service]()).get("/asyncapi.json")
    assert response.status_code == 200
    served = response.json()
    assert served["asyncapi"] == ASYNCAPI_VERSION
    own = {k: v for k, v in system["operations"].items() if v["x-service"] == service}
    assert served["operations"] == own
    sent = {op["channel"]["$ref"] for op in own.values() if op["action"] == "send"}
    assert sent == {f"#/channels/{t}" for t in owned_by(service)}
    for ref in refs(served):
        resolve(served, ref)


def test_topic_matching_is_rabbitmqs() -> None:
    assert topic_matches("task.created.#", "task.created")
    assert topic_matches("task.created.#", "task.created.finance")
    assert topic_matches("#", "case.closed")
    assert topic_matches("task.*.finance", "task.created.finance")
    assert not topic_matches("task.*.finance", "task.created")
    assert not topic_matches("case.closed.#", "case.closed_early")
    assert not topic_matches("task.created.finance", "task.created.legal")
