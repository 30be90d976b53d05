"""The OpenAPI document covers exactly the routes the app registers (as the Functions host
indexes them: `app.get_functions()`), validates as OpenAPI 3.1, and documents each route's
models and problem codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

ROOT = Path(__file__).resolve().parents[2]
ENV = {
    "AzureWebJobsStorage": "UseDevelopmentStorage=true",
    "GRAPH_AUTH_MODE": "emulator",
    "GRAPH_BASE_URL": "http://localhost:1/v1.0",
    "CALSYNC_PUBLIC_BASE_URL": "http://localhost:7071",
}
# Indexed the way the worker does it: import the script, ask the app for its functions once.
PROBE = """
import json, function_app
from functions.openapi import document
routes = []
for fn in function_app.app.get_functions():
    trigger = fn.get_trigger()
    if getattr(trigger, "route", None) is None or not fn.is_http_function():
        continue
    for method in trigger.methods:
        routes.append([str(getattr(method, "value", method)), trigger.route, fn.get_function_name(),
                       str(getattr(trigger.auth_level, "value", trigger.auth_level))])
# Which routes calsync itself asks a key for (functions.http.authorized; the host asks none).
keyless = sorted({r.name for bp in function_app.blueprints for r in bp.http_routes if r.anonymous})
print(json.dumps({"routes": routes, "keyless": keyless, "document": document()}))
"""


@pytest.fixture(scope="module")
def indexed() -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CALSYNC_", "GRAPH_"))} | ENV
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def _path(route: str) -> str:
    return "/" + route.strip("/")


def test_the_document_has_exactly_the_registered_routes(indexed: dict[str, Any]) -> None:
    registered = {(m.lower(), _path(r)) for m, r, _, _ in indexed["routes"] if "{*" not in r}
    documented = {(m, p) for p, ops in indexed["document"]["paths"].items() for m in ops}
    assert documented == registered
    catch_all = [r for _, r, _, _ in indexed["routes"] if "{*" in r]
    assert catch_all == ["{*path}"] * len(catch_all)  # only the 404/405 fallback is left out


def test_operation_ids_are_the_function_names_and_anonymous_routes_need_no_key(indexed: dict[str, Any]) -> None:
    doc = indexed["document"]
    by_route = {(m.lower(), _path(r)): (name, level) for m, r, name, level in indexed["routes"]}
    keyless = set(indexed["keyless"])
    assert {"health_check", "openapi_document", "graph_notifications", "console_page"} <= keyless
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            name, level = by_route[(method, path)]
            assert op["operationId"] == name
            assert level.lower() == "anonymous"  # the host lets every request through to calsync
            assert (op.get("security") == []) == (name in keyless), (path, method)
            if name not in keyless:
                assert "401" in op["responses"], (path, method)


def test_it_validates_as_openapi_3_1(indexed: dict[str, Any]) -> None:
    doc = indexed["document"]
    assert doc["openapi"].startswith("3.1")
    try:
        validate(doc)
    except OpenAPIValidationError as exc:  # pragma: no cover - the message is the point
        pytest.fail(str(exc))


def test_bodies_answers_and_problem_codes_are_documented(indexed: dict[str, Any]) -> None:
    doc = indexed["document"]
    put_worker = doc["paths"]["/orgs/{org}/workers/{worker}"]["put"]
    body = put_worker["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert body.endswith("/WorkerBody")
    assert "m365Account" in doc["components"]["schemas"]["WorkerBody"]["properties"]
    problem = put_worker["responses"]["400"]["content"]["application/problem+json"]["schema"]
    assert "invalid_input" in problem["allOf"][1]["properties"]["code"]["enum"]
    changes = doc["paths"]["/orgs/{org}/changes"]["get"]
    limit = next(p for p in changes["parameters"] if p["name"] == "limit")
    assert (limit["in"], limit["schema"]["maximum"]) == ("query", 500)
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            assert any(s.startswith("2") for s in op["responses"]), (method, path)
