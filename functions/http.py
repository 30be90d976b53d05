"""Response helpers shared by the HTTP blueprints: JSON bodies and RFC 9457 problems."""

from __future__ import annotations

import json
from typing import Any

import azure.functions as func

PROBLEM_TYPE_BASE = "urn:calsync:problem:"


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> func.HttpResponse:
    return func.HttpResponse(
        json.dumps(body, separators=(",", ":"), default=str),
        status_code=status,
        mimetype="application/json",
        headers=headers,
    )


def problem(status: int, code: str, detail: str, **extensions: Any) -> func.HttpResponse:
    """An RFC 9457 problem+json response with a stable machine-readable `code`."""
    body = {
        "type": PROBLEM_TYPE_BASE + code,
        "title": code.replace("_", " "),
        "status": status,
        "detail": detail,
        "code": code,
        **extensions,
    }
    return func.HttpResponse(
        json.dumps(body, separators=(",", ":"), default=str),
        status_code=status,
        mimetype="application/problem+json",
    )
