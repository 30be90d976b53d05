"""What every HTTP function shares: one decorator for log context and error mapping, JSON
bodies and RFC 9457 problems."""

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import azure.functions as func
from pydantic import ValidationError

from shared.adapters import telemetry
from shared.bootstrap import services
from shared.core import api_keys
from shared.core.api_check import problem_of
from shared.core.api_queries import Query
from shared.core.clock import json_default
from shared.core.errors import CalsyncError
from shared.core.logcontext import log_context
from shared.core.openapi import Route
from shared.core.validation import parse_json_object
from shared.service import org_keys
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
        methods = [str(getattr(m, "value", m)).upper() for m in kwargs.get("methods") or ALL_METHODS]
        anonymous = kwargs.get("auth_level") in (func.AuthLevel.ANONYMOUS, "anonymous", "ANONYMOUS")
        # calsync checks keys itself (the app's function key or an org key, docs/operations.md):
        # the Functions host lets every request through to it.
        register = super().route(route, *args, **{**kwargs, "auth_level": func.AuthLevel.ANONYMOUS})

        def record(fn: Any) -> Any:
            # Under an output binding's decorator `fn` is already the library's FunctionBuilder.
            user_fn = fn._function.get_user_function() if hasattr(fn, "_function") else fn
            for method in methods:
                self.http_routes.append(
                    Route(user_fn.__name__, method, route or user_fn.__name__, anonymous, user_fn.__doc__ or "")
                )
            if not anonymous and user_fn is not fn:
                raise TypeError("a keyed route with output bindings: put the key check inside the function")
            return register(fn if anonymous else authorized(fn))

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


async def respond(
    name: str, req: func.HttpRequest, context: func.Context, call: Callable[[Services], Awaitable[func.HttpResponse]]
) -> func.HttpResponse:
    """Run `call(services)` as HTTP operation `name`: log context (operation, invocation,
    org), our errors as problem+json, anything else a logged 500."""
    with (
        log_context(operation=name, invocation=context.invocation_id, org=req.route_params.get("org")),
        telemetry.span(
            f"http {name}",
            parent=telemetry.invocation_parent(context),
            attributes={"calsync.operation": name, "calsync.http.method": req.method},
        ) as span,
    ):
        try:
            response = await call(services())
        except CalsyncError as exc:
            response = problem(exc.status, exc.code, exc.message, _retry_after(exc), **exc.details)
        except Exception as exc:
            log.exception("unhandled error in %s", name)
            telemetry.failed(span, exc)
            response = problem(500, "internal_error", INTERNAL_ERROR)
        span.set_attribute("calsync.http.status", response.status_code)
        return response


def operation(name: str) -> Callable[[Operation], HttpFunction]:
    """Make `fn(req, services)` an HTTP function run by `respond`.

    The function keeps the worker's `(req, context)` signature and `fn`'s name (the
    function's name in the app), so it is decorated with `@bp.route` like any other."""

    def wrap(fn: Operation) -> HttpFunction:
        async def handler(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
            return await respond(name, req, context, lambda svc: fn(req, svc))

        handler.__name__, handler.__qualname__, handler.__doc__ = fn.__name__, fn.__qualname__, fn.__doc__
        handler.__module__ = fn.__module__
        return handler

    return wrap


INTERNAL_ERROR = "calsync failed to handle the request; it has been logged"
UNAUTHORIZED = (
    "a valid key is required: the app's function key (x-functions-key header or ?code=) or an org key "
    "(Authorization: Bearer csk_…)"
)
FORBIDDEN = "an org key reaches only its own organisation's routes, and not key management or the list of orgs"


def authorized(fn: HttpFunction) -> HttpFunction:
    """Run `fn` only for a caller its route allows (shared.core.api_keys): 401 without a valid
    key, 403 for an org key outside its org — the same whether that org exists or not."""

    async def req_handler(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
        try:
            who = await org_keys.caller(services(), *credentials(req))
        except CalsyncError as exc:  # storage unavailable: 503 with Retry-After
            return problem(exc.status, exc.code, exc.message, _retry_after(exc))
        if who is None:
            return problem(401, "unauthorized", UNAUTHORIZED)
        if not api_keys.allowed(who, fn.__name__, req.route_params.get("org")):
            return problem(403, "forbidden", FORBIDDEN)
        return await fn(req, context)

    req_handler.__name__, req_handler.__qualname__, req_handler.__doc__ = fn.__name__, fn.__qualname__, fn.__doc__
    req_handler.__module__ = fn.__module__
    return req_handler


def credentials(req: func.HttpRequest) -> tuple[str, str]:
    """(the function key given, the bearer token given), each "" when absent."""
    scheme, _, token = (req.headers.get("authorization") or "").partition(" ")
    given = req.headers.get("x-functions-key") or req.params.get("code") or ""
    return given, token.strip() if scheme.lower() == "bearer" else ""


def _retry_after(exc: CalsyncError) -> dict[str, str] | None:
    wait = getattr(exc, "retry_after", None) if exc.status == 503 else None
    return {"Retry-After": str(max(1, round(wait)))} if wait else None


def read_json(req: func.HttpRequest) -> dict[str, Any]:
    return parse_json_object(req.get_body())


def query(req: func.HttpRequest, model: type[Q]) -> Q:
    """The query string as `model` (shared.core.api_queries), or 400 naming the parameter."""
    try:
        return model.model_validate(dict(req.params))
    except ValidationError as exc:
        raise problem_of(exc.errors()[0]) from None
