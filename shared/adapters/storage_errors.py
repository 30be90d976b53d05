"""Storage failures that outlast the SDK's retries (connections refused or reset, timeouts,
5xx from the service) become StoreUnavailable: a 503 with Retry-After for an HTTP caller, a
retry for a queue message — never a 500 that looks like a bug."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Awaitable, Callable, Iterator
from typing import ParamSpec, TypeVar

from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError

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
    """A storage call whose transient failures raise StoreUnavailable."""

    @functools.wraps(fn)
    async def call(*args: P.args, **kwargs: P.kwargs) -> R:
        with translated():
            return await fn(*args, **kwargs)

    return call
