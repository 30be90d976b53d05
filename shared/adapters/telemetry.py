"""Traces and metrics through the OpenTelemetry API.

calsync never configures an exporter: in Azure the Python worker does it (with
PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY=true it calls azure-monitor-opentelemetry's
`configure_azure_monitor`, DEPLOY-FACTS §3), locally the local host does the same with the
same two settings, and tests install the SDK's in-memory exporters. Without any of them
the API is a no-op: no span is recorded, nothing leaves the process.

Attributes are `calsync.*`: Application Insights' exporter drops the semantic-convention
ones (`http.*`, `messaging.*`, `error.type`) from customDimensions and renames a CLIENT span
that has `http.request.method` after its URL path.

What calsync makes itself, so that it holds no personal data: one span per HTTP operation,
queue work item and timer run, a CLIENT span per Graph request (method and route
*pattern*), storage call (operation and table or queue) and webhook delivery. kiota's own
spans carry the full URL (mailbox addresses) and a dozen spans per request: they are
turned off (`quiet_libraries`). Exceptions are recorded by type only: their messages may
hold a response body.
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from opentelemetry import context as otel_context
from opentelemetry import metrics, propagate, trace
from opentelemetry.trace import Link, Span, SpanKind, Status, StatusCode

from shared.core import metric_names
from shared.core.metric_names import Metric

SCOPE = "calsync"
tracer = trace.get_tracer(SCOPE)
_meter = metrics.get_meter(SCOPE)

# Bucket advice: OpenTelemetry's default boundaries (0..10,000) suit milliseconds, not these.
_BUCKETS: dict[str, list[float]] = {
    "s": [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 3600],
    "{item}": [0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000],
}


def _instrument(metric: Metric) -> Any:
    if metric.kind == "counter":
        return _meter.create_counter(metric.name, unit=metric.unit, description=metric.description)
    return _meter.create_histogram(
        metric.name,
        unit=metric.unit,
        description=metric.description,
        explicit_bucket_boundaries_advisory=_BUCKETS.get(metric.unit),
    )


_instruments: dict[str, Any] = {m.name: _instrument(m) for m in metric_names.ALL}


class OtelMetrics:
    """The `Metrics` port (shared.service.ports) on OpenTelemetry instruments."""

    def add(self, metric: Metric, amount: int = 1, **attributes: str) -> None:
        if amount:
            _instruments[metric.name].add(amount, metric.points(attributes))

    def record(self, metric: Metric, value: float, **attributes: str) -> None:
        _instruments[metric.name].record(value, metric.points(attributes))


metrics_port = OtelMetrics()


# -- spans -------------------------------------------------------------------------------


def recording() -> bool:
    """Whether an SDK is configured: until the worker (or a test) sets a tracer provider the
    API's is a proxy, and a span would be a no-op that still costs context switching."""
    return not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)


def failed(span: Span, exc: BaseException) -> None:
    """Mark a span failed by the exception's type (its message may hold a response body)."""
    span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
    span.set_attribute("calsync.error", type(exc).__qualname__)


@contextlib.contextmanager
def span(
    name: str,
    *,
    kind: SpanKind = SpanKind.INTERNAL,
    attributes: Mapping[str, Any] | None = None,
    parent: otel_context.Context | None = None,
    links: list[Link] | None = None,
) -> Iterator[Span]:
    """A span, current inside the block; an exception marks it failed (by type) and goes on."""
    if not recording():
        yield trace.INVALID_SPAN
        return
    with tracer.start_as_current_span(
        name,
        context=parent,
        kind=kind,
        attributes=dict(attributes or {}),
        links=links,
        record_exception=False,
        set_status_on_exception=False,
    ) as current:
        try:
            yield current
        except BaseException as exc:
            failed(current, exc)
            raise


def invocation_parent(context: Any) -> otel_context.Context | None:
    """The context a function runs in: the one the worker attached (Azure, the local host),
    else the invocation's trace context (`func.Context.trace_context`) as the host passed it."""
    if trace.get_current_span().get_span_context().is_valid:
        return None
    given = getattr(context, "trace_context", None)
    trace_parent = getattr(given, "trace_parent", None)
    if not trace_parent:
        return None
    return propagate.extract({"traceparent": trace_parent, "tracestate": getattr(given, "trace_state", "") or ""})


def timer_span(name: str, context: Any) -> contextlib.AbstractContextManager[Span]:
    """A timer run's span (timers start traces of their own)."""
    return span(f"timer {name}", parent=invocation_parent(context))


def inject(carrier: dict[str, Any]) -> None:
    """Put the current trace context into a queue message (W3C traceparent/tracestate)."""
    propagate.inject(carrier)


def message_parent(wire: Mapping[str, Any]) -> tuple[otel_context.Context | None, list[Link]]:
    """A queue work item continues the trace of whatever sent its message; the host's
    invocation span (a trace of its own: Storage queues carry no context) is linked."""
    if not isinstance(wire.get("traceparent"), str):
        return None, []
    parent = propagate.extract({k: wire[k] for k in ("traceparent", "tracestate") if isinstance(wire.get(k), str)})
    if not trace.get_current_span(parent).get_span_context().is_valid:
        return None, []
    here = trace.get_current_span().get_span_context()
    return parent, ([Link(here)] if here.is_valid else [])


# -- Graph ---------------------------------------------------------------------------------

# Path segments of Graph routes calsync calls that are names, not ids; anything else in a
# URL without a template (the $batch POST, a raw URL) is shown as {id}.
_GRAPH_WORDS = {
    "users", "events", "calendar", "calendars", "calendarView", "delta", "instances", "subscriptions",
    "todo", "lists", "tasks", "places", "microsoft.graph.room", "microsoft.graph.roomlist", "rooms",
    "getSchedule", "$batch", "mailboxSettings", "accept", "decline", "tentativelyAccept", "cancel",
    "v1.0", "beta", "attachments", "extensions", "onlineMeetings",
}  # fmt: skip


def graph_route(url_template: str | None, url: str | None) -> str:
    """The route pattern of a Graph request, never its ids: `/users/{user-id}/events`."""
    if url_template:
        return _template_route(url_template)
    path = urlsplit(url or "").path
    parts = [p if p in _GRAPH_WORDS else "{id}" for p in path.split("/") if p]
    if parts and parts[0] in ("v1.0", "beta"):
        parts = parts[1:]
    return "/" + "/".join(parts)


@functools.lru_cache(maxsize=1024)
def _template_route(url_template: str) -> str:
    path = url_template.replace("{+baseurl}", "")
    path = re.sub(r"\{[?&][^}]*\}", "", path).split("?")[0]  # the query's template, its literal part
    return unquote(path) or "/"


@dataclass
class _Attempts:
    method: str
    route: str
    status: int | None = None
    throttled: int = 0
    retry_after: str | None = None


_attempts: ContextVar[_Attempts | None] = ContextVar("calsync_graph_attempts", default=None)


@contextlib.contextmanager
def graph_request(method: str, route: str) -> Iterator[_Attempts]:
    """A CLIENT span and the request counter for one logical Graph request (the SDK's
    retries inside it are seen one by one by `graph_response`)."""
    attempts = _Attempts(method, route)
    token = _attempts.set(attempts)
    status = "error"
    try:
        with span(
            f"graph {method} {route}",
            kind=SpanKind.CLIENT,
            attributes={"calsync.graph.method": method, "calsync.graph.route": route},
        ) as current:
            try:
                yield attempts
            finally:
                if attempts.status is not None:
                    status = str(attempts.status)
                    current.set_attribute("calsync.graph.status", attempts.status)
                    if attempts.status >= 400:
                        current.set_status(Status(StatusCode.ERROR, f"HTTP {attempts.status}"))
                current.set_attribute("calsync.graph.throttled", attempts.throttled > 0)
                if attempts.throttled:
                    current.set_attribute("calsync.graph.throttled_responses", attempts.throttled)
                if attempts.retry_after is not None:
                    current.set_attribute("calsync.graph.retry_after_s", attempts.retry_after)
    finally:
        _attempts.reset(token)
        metrics_port.add(metric_names.GRAPH_REQUESTS, method=method, route=route, status=status)


def graph_response(status: int, retry_after: str | None) -> None:
    """One HTTP answer from Graph (each try of a request)."""
    attempts = _attempts.get()
    if attempts is None:
        return
    attempts.status = status
    if status == 429:
        attempts.throttled += 1
        attempts.retry_after = retry_after
        metrics_port.add(metric_names.GRAPH_THROTTLED, method=attempts.method, route=attempts.route)
        trace.get_current_span().add_event("throttled", {"calsync.graph.retry_after_s": retry_after or ""})


def quiet_libraries() -> None:
    """Turn off kiota's and azure-core's own tracing (see the module's docstring)."""
    import kiota_abstractions.request_information
    import kiota_authentication_azure.azure_identity_access_token_provider
    import kiota_http.httpx_request_adapter
    import kiota_http.middleware.middleware
    from azure.core.settings import settings as azure_settings

    # Each module made its tracer at import (its middleware handlers share middleware's).
    for module in (
        kiota_http.httpx_request_adapter,
        kiota_http.middleware.middleware,
        kiota_abstractions.request_information,
        kiota_authentication_azure.azure_identity_access_token_provider,
    ):
        module.tracer = trace.NoOpTracer()  # type: ignore[attr-defined]
    azure_settings.tracing_implementation = None
    with contextlib.suppress(AttributeError):  # azure-core ≥ 1.31: its native OpenTelemetry spans
        azure_settings.tracing_enabled = False


# -- storage -------------------------------------------------------------------------------


@contextlib.contextmanager
def storage_span(operation: str, target: str | None, service: str) -> Iterator[Span]:
    """A CLIENT span for one storage call: the operation and the table or queue, no keys.

    Never made current: a storage call has no children, and a query's span lives across
    the yields of an async generator, where attaching a context is unsafe."""
    if not recording():
        yield trace.INVALID_SPAN
        return
    attributes = {"calsync.storage.operation": operation, "calsync.storage.service": service}
    if target:
        attributes["calsync.storage.target"] = target
    current = tracer.start_span(
        f"storage {operation} {target}" if target else f"storage {operation}",
        kind=SpanKind.CLIENT,
        attributes=attributes,
    )
    try:
        yield current
    except BaseException as exc:
        failed(current, exc)
        raise
    finally:
        current.end()
