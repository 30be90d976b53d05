"""Storage failures that outlast the SDK's retries (connections refused or reset, timeouts,
5xx from the service) become StoreUnavailable: a 503 with Retry-After for an HTTP caller, a
retry for a queue message — never a 500 that looks like a bug."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any, ParamSpec, TypeVar

from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError

from shared.adapters.telemetry import storage_span
from shared.core.errors import StoreUnavailable

P = ParamSpec("P")
R = TypeVar("R")


@contextlib.contextmanager
def translated() -> Iterator[None]:
    """Storage calls inside whose transient failures raise StoreUnavailable."""
    try:
        yield
    except (ServiceRequestError, ServiceResponseError) as exc:
        raise unavailable(exc) from exc
    except HttpResponseError as exc:
        if (exc.status_code or 0) >= 500:
            raise unavailable(exc) from exc
        raise


def unavailable(exc: BaseException) -> StoreUnavailable:
    return StoreUnavailable(f"storage is unavailable ({type(exc).__name__}); try again shortly")


def guarded(fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """A storage call whose transient failures raise StoreUnavailable, in a span of its own."""
    operation = fn.__name__

    @functools.wraps(fn)
    async def call(*args: P.args, **kwargs: P.kwargs) -> R:
        service, target = target_of(args[1:])
        with storage_span(operation, target, service), translated():
            return await fn(*args, **kwargs)

    return call


def target_of(args: Sequence[Any]) -> tuple[str, str | None]:
    """("table" | "queue", its name) from a storage call's arguments: an entity, its class,
    a queue message, or a batch of (op, entity)."""
    for arg in args:
        if isinstance(arg, Sequence) and arg and isinstance(arg[0], tuple) and len(arg[0]) == 2:
            arg = arg[0][1]
        table = getattr(arg, "TABLE", None)
        if isinstance(table, str):
            return "table", table
        queue = getattr(arg, "QUEUE", None)
        if isinstance(queue, str):
            return "queue", queue
    return "storage", None
