"""GET /api/openapi.json (anonymous): the OpenAPI 3.1 document of every HTTP route, built
once per process from the routes the blueprints registered and the models they use."""

from __future__ import annotations

import functools
import re
from typing import Any

import azure.functions as func

from functions.http import Blueprint, json_response
from shared.core.openapi import Route, build, path_of

bp = Blueprint()
VERSION = "0.1.0"  # pyproject.toml's
_routes: list[Route] = []


def publish(routes: list[Route]) -> None:
    """function_app.py hands over every registered route once the blueprints are in."""
    _routes[:] = routes
    document.cache_clear()
    _patterns.cache_clear()


@functools.cache
def document() -> dict[str, Any]:
    routes = [r for r in _routes if "{*" not in r.template]  # the catch-all is not an operation
    return build(routes, title="calsync", version=VERSION)


@functools.cache
def _patterns() -> list[tuple[re.Pattern[str], str]]:
    out = []
    for r in _routes:
        if "{*" in r.template:
            continue
        pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(path_of(r.template)))
        out.append((re.compile(pattern + "$", re.IGNORECASE), r.method))
    return out


def allowed_methods(path: str) -> list[str]:
    """The methods some route takes at `path` (under /api), for a 405's Allow header."""
    path = "/" + path.rstrip("/")  # an empty segment (a doubled slash) matches no route
    return sorted({method for pattern, method in _patterns() if pattern.match(path)})


@bp.route(route="openapi.json", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
async def openapi_document(req: func.HttpRequest) -> func.HttpResponse:
    """The OpenAPI 3.1 document of this API."""
    return json_response(document(), headers={"Cache-Control": "no-cache"})
