"""What every HTTP function shares: one decorator for log context and error mapping, JSON
bodies and RFC 9457 problems."""

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import azure.functions as func
from pydantic import ValidationError

from shared.bootstrap import services
from shared.core.api_check import problem_of
from shared.core.api_queries import Query
from shared.core.clock import json_default
from shared.core.errors import CalsyncError
from shared.core.logcontext import log_context
from shared.core.openapi import Route
from shared.core.validation import parse_json_object
from shared.service.ports import Services

log = logging.getLogger("calsync.http")

PROBLEM_TYPE_BASE = "urn:calsync:problem:"
Q = TypeVar("Q", bound=Query)
Operation = Callable[[func.HttpRequest, Services], Awaitable[func.HttpResponse]]
HttpFunction = Callable[[func.HttpRequest, func.Context], Awaitable[func.HttpResponse]]


ALL_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


class Blueprint(func.Blueprint):
    """A Blueprint that also remembers each HTTP route it registers (function name,
    method, template, auth level): the OpenAPI document and the 405 answers come from it."""

    def __init__(self) -> None:
        super().__init__()
        self.http_routes: list[Route] = []

    def route(self, route: str | None = None, *args: Any, **kwargs: Any) -> Callable[..., Any]:
        register = super().route(route, *args, **kwargs)
        methods = [str(getattr(m, "value", m)).upper() for m in kwargs.get("methods") or ALL_METHODS]
        anonymous = kwargs.get("auth_level") in (func.AuthLevel.ANONYMOUS, "anonymous", "ANONYMOUS")

        def record(fn: Callable[..., Any]) -> Any:
            for method in methods:
                self.http_routes.append(Route(fn.__name__, method, route or fn.__name__, anonymous, fn.__doc__ or ""))
            return register(fn)

        return record


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> func.HttpResponse:
    return func.HttpResponse(
        json.dumps(body, separators=(",", ":"), default=json_default),
        status_code=status,
        mimetype="application/json",
        headers=headers,
    )


def problem(
    status: int, code: str, detail: str, headers: dict[str, str] | None = None, **extensions: Any
) -> func.HttpResponse:
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
        json.dumps(body, separators=(",", ":"), default=json_default),
        status_code=status,
        mimetype="application/problem+json",
        headers=headers,
    )


def operation(name: str) -> Callable[[Operation], HttpFunction]:
    """Make `fn(req, services)` an HTTP function: log context (operation, invocation, org),
    our errors as problem+json, anything else a logged 500.

    The function keeps the worker's `(req, context)` signature and `fn`'s name (the
    function's name in the app), so it is decorated with `@bp.route` like any other."""

    def wrap(fn: Operation) -> HttpFunction:
        async def handler(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
            with log_context(operation=name, invocation=context.invocation_id, org=req.route_params.get("org")):
                try:
                    return await fn(req, services())
                except CalsyncError as exc:
                    wait = getattr(exc, "retry_after", None) if exc.status == 503 else None
                    headers = {"Retry-After": str(max(1, round(wait)))} if wait else None
                    return problem(exc.status, exc.code, exc.message, headers, **exc.details)
                except Exception:
                    log.exception("unhandled error in %s", name)
                    return problem(500, "internal_error", "calsync failed to handle the request; it has been logged")

        handler.__name__, handler.__qualname__, handler.__doc__ = fn.__name__, fn.__qualname__, fn.__doc__
        handler.__module__ = fn.__module__
        return handler

    return wrap


def read_json(req: func.HttpRequest) -> dict[str, Any]:
    return parse_json_object(req.get_body())


def query(req: func.HttpRequest, model: type[Q]) -> Q:
    """The query string as `model` (shared.core.api_queries), or 400 naming the parameter."""
    try:
        return model.model_validate(dict(req.params))
    except ValidationError as exc:
        raise problem_of(exc.errors()[0]) from None
