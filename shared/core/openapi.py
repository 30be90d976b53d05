"""The OpenAPI 3.1 document, built from the app's HTTP function registrations (routes,
methods, auth levels: `Route`) and the models every function reads and answers
(shared.core.api_requests, api_queries, api_responses), so it cannot drift from the code."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from shared.core import api_keys
from shared.core.api_availability import AvailabilityBody
from shared.core.api_queries import QUERIES
from shared.core.api_requests import REQUESTS as BODIES
from shared.core.api_requests import BatchRow
from shared.core.api_responses import ERRORS, MEDIA_TYPES, RESPONSES, Problem
from shared.core.api_rooms import CheckInBody
from shared.core.api_suggestions import SuggestionsBody
from shared.core.api_tasks import TaskBody

# The request bodies by operation; the tasks', availability's and suggestions' live in
# modules of their own (which build on api_requests).
REQUESTS = {
    **BODIES,
    "put_task": TaskBody,
    "get_availability": AvailabilityBody,
    "find_meeting_times": SuggestionsBody,
    "check_in_room": CheckInBody,
}

REF = "#/components/schemas/{model}"
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
_PARAM = re.compile(r"\{\*?([A-Za-z_][A-Za-z0-9_]*)[^}]*\}")
# Route parameters: what they hold (identifiers are ours: 1-200 printable characters).
_PATH_PARAMS: dict[str, dict[str, Any]] = {
    "date": {"type": "string", "format": "date", "description": "The occurrence's original date"},
    "job": {"type": "string", "description": "A job id, as the push or import answer gave it"},
    "asset": {"type": "string", "description": "A file of the console"},
}
_ID = {"type": "string", "minLength": 1, "maxLength": 200}
# Bodies that are not JSON objects of one model.
_RAW_BODIES: dict[str, dict[str, Any]] = {
    "batch_link_workers": {
        "text/csv": {"schema": {"type": "string", "description": "header worker,m365Account[,displayName]"}},
        # Each row is checked on its own and answered in `results` (a bad row does not fail
        # the batch), so the body takes any objects; BatchRow is what a good row is.
        "application/json": {
            "schema": {
                "type": "array",
                "minItems": 1,
                "items": {"description": "a row, as components/schemas/BatchRow has it (anything else is a bad row)"},
            }
        },
    },
    # Graph's notification collection; with ?validationToken= (the handshake) any body is ignored.
    "graph_notifications": {"application/json": {"schema": {}}},
    "graph_lifecycle": {"application/json": {"schema": {}}},
}
_OPTIONAL_BODIES = {"graph_notifications", "graph_lifecycle"}
# Answers that are not JSON: the console's static files.
_TEXT = {"schema": {"type": "string"}}
_RAW_ANSWERS: dict[str, dict[str, Any]] = {
    "console_page": {
        "200": {"description": "the console page", "content": {"text/html": _TEXT}},
        "304": {"description": "not modified (If-None-Match)"},
        "308": {"description": "/api/console/ redirects to /api/console"},
    },
    "console_asset": {
        "200": {
            "description": "a file of the console",
            "content": {"text/css": _TEXT, "text/javascript": _TEXT, "image/svg+xml": _TEXT},
        },
        "304": {"description": "not modified (If-None-Match)"},
    },
}
_RAW_ERRORS: dict[str, list[tuple[int, str]]] = {"console_asset": [(404, "asset_not_found")]}


@dataclass(frozen=True)
class Route:
    """One HTTP function as the app registers it."""

    name: str  # the function's name in the app (its Python name)
    method: str
    template: str  # the route, without the /api prefix: orgs/{org}/workers/{worker}
    anonymous: bool
    doc: str = ""


def path_of(template: str) -> str:
    """`orgs/{org}` → `/orgs/{org}`; constraints and catch-all stars dropped."""
    return "/" + _PARAM.sub(lambda m: "{" + m.group(1) + "}", template.strip("/"))


def build(routes: list[Route], *, title: str, version: str, server: str = "/api") -> dict[str, Any]:
    models: list[type[BaseModel]] = [Problem, BatchRow, *REQUESTS.values()]
    models += [m for answers in RESPONSES.values() for m in answers.values() if m is not None]
    _, top = models_json_schema([(m, "validation") for m in dict.fromkeys(models)], ref_template=REF)
    schemas = top.get("$defs", {})
    paths: dict[str, dict[str, Any]] = defaultdict(dict)
    for route in routes:
        paths[path_of(route.template)][route.method.lower()] = _operation(route, schemas)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": version,
            "description": "Two-way sync of a booking product's appointments, workers and rooms with Microsoft 365. "
            "Errors are RFC 9457 problem+json with a stable `code`.",
        },
        "servers": [{"url": server}],
        "security": [{"functionKey": []}, {"functionKeyQuery": []}, {"orgKey": []}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "securitySchemes": {
                "functionKey": {"type": "apiKey", "in": "header", "name": "x-functions-key"},
                "functionKeyQuery": {"type": "apiKey", "in": "query", "name": "code"},
                "orgKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An org key (csk_…): its own org's routes only (docs/operations.md)",
                },
            },
        },
    }


def _operation(route: Route, schemas: dict[str, Any]) -> dict[str, Any]:
    summary, _, description = route.doc.strip().partition("\n")
    op: dict[str, Any] = {"operationId": route.name, "summary": summary or route.name.replace("_", " ")}
    if description.strip():
        op["description"] = " ".join(description.split())
    params = [
        {"name": name, "in": "path", "required": True, "schema": _PATH_PARAMS.get(name, _ID)}
        for name in _PARAM.findall(route.template)
    ]
    query = QUERIES.get(route.name)
    if query is not None:
        params += _query_params(query)
    if params:
        op["parameters"] = params
    if route.name in REQUESTS:
        schema = {"$ref": REF.format(model=REQUESTS[route.name].__name__)}
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": schema}}}
    elif route.name in _RAW_BODIES:
        op["requestBody"] = {"required": route.name not in _OPTIONAL_BODIES, "content": _RAW_BODIES[route.name]}
    op["responses"] = _responses(route)
    if route.anonymous:
        op["security"] = []
    return op


def _query_params(model: type[BaseModel]) -> list[dict[str, Any]]:
    # A query model is parameters, not a schema of its own.
    spec = model.model_json_schema(ref_template=REF)
    out = []
    for name, schema in spec.get("properties", {}).items():
        schema = {k: v for k, v in schema.items() if k != "title"}
        description = schema.pop("description", None)
        param = {"name": name, "in": "query", "required": name in spec.get("required", []), "schema": schema}
        if description:
            param["description"] = description
        out.append(param)
    return out


def _responses(route: Route) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for status, model in RESPONSES.get(route.name, {}).items():
        doc = (model.__doc__ or "").strip() if model is not None else ""
        answer: dict[str, Any] = {"description": doc.split("\n")[0] or "no content"}
        if model is not None:
            media = MEDIA_TYPES.get(route.name, {}).get(status, "application/json")
            answer["content"] = {media: {"schema": {"$ref": REF.format(model=model.__name__)}}}
        out[str(status)] = answer
    out.update(_RAW_ANSWERS.get(route.name, {}))
    codes: dict[int, list[str]] = defaultdict(list)
    for status, code in ERRORS.get(route.name, []) + _RAW_ERRORS.get(route.name, []):
        codes[status].append(code)
    for status, names in sorted(codes.items()):
        names = sorted(set(names))
        schema = {"allOf": [PROBLEM_REF, {"properties": {"code": {"enum": names}}}]}
        content = {"application/problem+json": {"schema": schema}}
        out[str(status)] = {"description": ", ".join(names), "content": content}
    # The host's limits (URL 8 KB, query string 4 KB); the local host answers problem+json.
    out["414"] = {"description": "the URL or its query string is longer than the Functions host takes"}
    if not route.anonymous:
        # Answered before the operation runs (functions.http.authorized).
        auth = {"application/problem+json": {"schema": PROBLEM_REF}}
        out["401"] = {"description": "unauthorized: no valid function key or org key", "content": auth}
        if route.name not in api_keys.ANY_CALLER:
            out["403"] = {"description": "forbidden: an org key outside its own org's routes", "content": auth}
    return out
