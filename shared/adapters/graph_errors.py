"""Graph's failures → calsync's GraphError family. The only code that reads Graph errors.

What is not a Graph failure (a bug of ours, a KeyError in a parser) is not translated: it
propagates as itself, so it is seen as a bug instead of being retried as an outage."""

from __future__ import annotations

import re

import httpx
from azure.core.exceptions import ClientAuthenticationError
from kiota_abstractions.api_error import APIError
from msgraph.generated.models.o_data_errors.o_data_error import ODataError

from shared.core.errors import (
    ConsentRequired,
    DeltaTokenExpired,
    GraphError,
    GraphNotFound,
    GraphRejected,
    GraphUnavailable,
    MailboxNotEnabled,
)

# A delta token Graph no longer honours (delta-query-overview.md, event-delta.md): start afresh.
_SYNC_STATE_GONE = {"syncstatenotfound", "syncstateinvalid", "resyncrequired"}
_EXISTING_SUBSCRIPTION = re.compile(r"Subscription Id ([0-9a-fA-F-]{36}) already exists")


def translate(exc: BaseException) -> GraphError | None:
    """The GraphError for a failed Graph call, or None when `exc` is not a Graph failure."""
    if isinstance(exc, GraphError):
        return exc
    if isinstance(exc, ClientAuthenticationError):
        return ConsentRequired(f"could not get a token for the tenant: {str(exc).splitlines()[0][:300]}")
    if isinstance(exc, (httpx.TimeoutException, httpx.TransportError)):
        return GraphUnavailable(f"Graph did not answer: {type(exc).__name__}")
    if not isinstance(exc, APIError):
        return None
    status = exc.response_status_code or 0
    code, message = "", str(exc.message or "")
    if isinstance(exc, ODataError) and exc.error is not None:
        code, message = exc.error.code or "", exc.error.message or message
    headers = {k.lower(): v for k, v in (exc.response_headers or {}).items()}
    text = f"{code}: {message}" if code else message or f"HTTP {status}"
    existing = _EXISTING_SUBSCRIPTION.search(message) if status == 409 else None
    kwargs = {
        "graph_status": status,
        "graph_code": code,
        "retry_after": _retry_after(headers.get("retry-after")),
        "existing_id": existing.group(1) if existing else None,
    }
    if status == 401 or (status == 403 and code in ("Authorization_RequestDenied", "ErrorAccessDenied")):
        return ConsentRequired(text, **kwargs)
    if code in ("MailboxNotEnabledForRESTAPI", "MailboxNotSupportedForRESTAPI"):
        return MailboxNotEnabled(text, **kwargs)
    if status == 410 or code.lower() in _SYNC_STATE_GONE:
        return DeltaTokenExpired(text, **kwargs)
    if status == 404:
        return GraphNotFound(text, **kwargs)
    if status == 429 or status >= 500:
        return GraphUnavailable(text, **kwargs)
    return GraphRejected(text, **kwargs)


def _retry_after(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None
