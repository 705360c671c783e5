"""Each service's OpenAPI documents the error statuses it answers, with the one error body."""

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.registry import APPS
from shared.errors import ErrorBody, error_body
from shared.openapi import ERROR_REF

METHODS = {"get", "put", "post", "delete", "patch"}
# Liveness and readiness touch no database of their own and answer for themselves.
OPERATIONS = {"/healthz", "/readyz"}


@pytest.fixture(scope="module", params=sorted(APPS))
def document(request: pytest.FixtureRequest) -> dict[str, Any]:
    # What a client fetches (no lifespan: the document needs no database or broker).
    response = TestClient(APPS[request.param]()).get("/openapi.json")
    assert response.status_code == 200
    return dict(response.json())


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    found = [
        (path, method, op)
        for path, item in document["paths"].items()
        for method, op in item.items()
        if method in METHODS and path not in OPERATIONS
    ]
    assert found, "the service documents no operation"
    return found


def answers_error_body(op: dict[str, Any], status: str) -> bool:
    response = op["responses"].get(status)
    if response is None:
        return False
    return bool(response["content"]["application/json"]["schema"] == {"$ref": ERROR_REF})


def test_every_operation_documents_infrastructure_faults(document: dict[str, Any]) -> None:
    for path, method, op in operations(document):
        assert answers_error_body(op, "503"), (method, path)
        assert "Retry-After" in op["responses"]["503"]["headers"], (method, path)


def test_authenticated_operations_document_401_and_403(document: dict[str, Any]) -> None:
    authenticated = [(p, m, op) for p, m, op in operations(document) if op.get("security")]
    assert authenticated
    for path, method, op in authenticated:
        assert answers_error_body(op, "401"), (method, path)
        assert answers_error_body(op, "403"), (method, path)


def test_operations_with_input_document_422_and_bodies_400_413(document: dict[str, Any]) -> None:
    for path, method, op in operations(document):
        if op.get("parameters") or op.get("requestBody"):
            assert answers_error_body(op, "422"), (method, path)
        if op.get("requestBody"):
            assert answers_error_body(op, "400"), (method, path)
            assert answers_error_body(op, "413"), (method, path)
        if "{" in path:
            assert answers_error_body(op, "404"), (method, path)
        idempotent = any(p["name"] == "Idempotency-Key" for p in op.get("parameters", []))
        if idempotent:
            assert answers_error_body(op, "409"), (method, path)


def test_every_error_status_answers_the_error_body(document: dict[str, Any]) -> None:
    for path, method, op in operations(document):
        for status in op["responses"]:
            if status.startswith(("4", "5")):
                assert answers_error_body(op, status), (method, path, status)
    text = json.dumps(document)
    assert "HTTPValidationError" not in text  # FastAPI's body, which no service sends


def test_the_documented_schema_is_the_error_body(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    detail = schemas["ErrorDetail"]
    assert schemas["ErrorBody"]["required"] == ["error"]
    assert set(detail["required"]) == {"code", "message"}
    assert detail["additionalProperties"] is True  # details vary by code
    fields = [{"loc": ["body", "channel"], "message": "bad", "type": "enum"}]
    for body in (
        error_body("validation_error", "The request is not valid.", fields=fields),
        error_body("service_unavailable", "retry", retry_after_seconds=5),
    ):
        assert ErrorBody.model_validate(body).model_dump(exclude_none=True) == body
