"""Response helpers shared by the HTTP blueprints: JSON bodies and RFC 9457 problems."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import azure.functions as func

from shared.errors import CalsyncError, InvalidInput
from shared.logctx import log_context
from shared.validation import parse_json_object

log = logging.getLogger("calsync.http")

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


async def handle(
    req: func.HttpRequest, context: func.Context, operation: str, run: Callable[[], Awaitable[func.HttpResponse]]
) -> func.HttpResponse:
    """Run one operation with log context; our errors become problem+json, others a 500."""
    with log_context(operation=operation, invocation=context.invocation_id, org=req.route_params.get("org")):
        try:
            return await run()
        except CalsyncError as exc:
            return problem(exc.status, exc.code, exc.message, **exc.details)
        except Exception:
            log.exception("unhandled error in %s", operation)
            return problem(500, "internal_error", "calsync failed to handle the request; it has been logged")


def read_json(req: func.HttpRequest) -> dict[str, Any]:
    return parse_json_object(req.get_body())


def query_int(req: func.HttpRequest, name: str, default: int, low: int, high: int) -> int:
    raw = req.params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInput(name, f"{name} must be a whole number") from None
    if not low <= value <= high:
        raise InvalidInput(name, f"{name} must be between {low} and {high}")
    return value
