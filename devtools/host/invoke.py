"""Calling one function with its bindings, the way the Python worker does."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import azure.functions as func
from azure.functions._abc import RetryContext, TraceContext
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

log = logging.getLogger("devtools.host")

OUT = 1  # azure.functions.decorators.core.BindingDirection.OUT
OutputWriter = Callable[[func.Function, dict[str, Any], Any], Awaitable[None]]


class Out(func.Out):
    def __init__(self) -> None:
        self._value: Any = None

    def set(self, val: Any) -> None:
        self._value = val

    def get(self) -> Any:
        return self._value


class _Trace(TraceContext):
    def __init__(self, parent: str | None = None) -> None:
        self._parent = parent or f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-01"

    @property
    def trace_parent(self) -> str:
        return self._parent

    @property
    def trace_state(self) -> str:
        return ""

    @property
    def attributes(self) -> dict[str, str]:
        return {}


class _Retry(RetryContext):
    @property
    def retry_count(self) -> int:
        return 0

    @property
    def max_retry_count(self) -> int:
        return 0

    @property
    def exception(self) -> Any:
        return None


class Context(func.Context):
    def __init__(self, name: str, invocation_id: str, trace_parent: str | None = None) -> None:
        self._name = name
        self._id = invocation_id
        self._trace = _Trace(trace_parent)
        self._retry = _Retry()

    @property
    def invocation_id(self) -> str:
        return self._id

    @property
    def function_name(self) -> str:
        return self._name

    @property
    def function_directory(self) -> str:
        return "."

    @property
    def trace_context(self) -> TraceContext:
        return self._trace

    @property
    def retry_context(self) -> RetryContext:
        return self._retry

    @property
    def thread_local_storage(self) -> Any:
        return None


@dataclass
class Outcome:
    result: Any
    outputs: dict[str, Any]  # output binding name → value set (queue outputs)
    error: BaseException | None
    duration_ms: float
    invocation_id: str


@functools.cache
def _wants_context(user_fn: Any) -> bool:
    """Whether the function takes `context` (once per function: inspect is slow per call)."""
    return "context" in inspect.signature(user_fn).parameters


_host_tracer = trace.get_tracer("devtools.host")
_KINDS = {"http": SpanKind.SERVER, "queue": SpanKind.CONSUMER}


def invocation_span(name: str, trigger_kind: str, invocation_id: str, traceparent: str | None) -> Span:
    """The host's span for one invocation, as the Functions host makes in OpenTelemetry mode
    (`faas.*` attributes; an HTTP request's traceparent continued). Recorded only where an
    OpenTelemetry SDK is configured; otherwise a no-op that costs nothing."""
    trigger = trigger_kind.split("(")[0]
    parent = propagate.extract({"traceparent": traceparent}) if traceparent else otel_context.Context()
    return _host_tracer.start_span(
        name,
        context=parent,
        kind=_KINDS.get(trigger, SpanKind.INTERNAL),
        attributes={
            "faas.name": name,
            "faas.trigger": {"queue": "pubsub"}.get(trigger, trigger),
            "faas.execution": invocation_id,
        },
    )


def traceparent_of(span: Span) -> str | None:
    """The W3C traceparent the worker passes in `context.trace_context` (None: no SDK)."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier, context=trace.set_span_in_context(span))
    return carrier.get("traceparent")


class Invoker:
    """Runs functions; on success writes their queue output bindings (a failed output
    write fails the invocation, as in Azure)."""

    def __init__(self, write_outputs: OutputWriter | None = None, timeout_s: float | None = None) -> None:
        self._pool = ThreadPoolExecutor(thread_name_prefix="func-sync")
        self._timeout = timeout_s
        self._write_outputs = write_outputs

    async def invoke(
        self, fn: func.Function, trigger_kind: str, trigger_value: Any, *, traceparent: str | None = None
    ) -> Outcome:
        """`traceparent`: an HTTP request's W3C header, which the host's span continues."""
        name = fn.get_function_name()
        user_fn = fn.get_user_function()
        invocation_id = str(uuid.uuid4())
        trigger = fn.get_trigger()
        kwargs: dict[str, Any] = {trigger.name: trigger_value}
        outs: dict[str, Out] = {}
        for binding in fn.get_bindings():
            if binding.direction == OUT and binding.name != "$return":
                outs[binding.name] = kwargs[binding.name] = Out()
        span = invocation_span(name, trigger_kind, invocation_id, traceparent)
        if _wants_context(user_fn):
            kwargs["context"] = Context(name, invocation_id, traceparent_of(span))
        started = time.perf_counter()
        error: BaseException | None = None
        result: Any = None
        # The worker runs the function inside the host's invocation context (DEPLOY-FACTS §3).
        token = otel_context.attach(trace.set_span_in_context(span))
        try:
            if inspect.iscoroutinefunction(user_fn):
                call = user_fn(**kwargs)
            else:
                ctx = contextvars.copy_context()
                call = asyncio.get_running_loop().run_in_executor(self._pool, lambda: ctx.run(user_fn, **kwargs))
            result = await (asyncio.wait_for(call, self._timeout) if self._timeout else call)
            if self._write_outputs is not None:
                await self._write_outputs(fn, {k: o.get() for k, o in outs.items()}, result)
        except Exception as exc:  # a failed invocation is an outcome, not a host crash
            error = exc
            span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
        finally:
            otel_context.detach(token)
            span.end()
        duration = (time.perf_counter() - started) * 1000
        status = "Succeeded" if error is None else "Failed"
        log.info(
            "Executed 'Functions.%s' (%s, Id=%s, Trigger=%s, Duration=%.0fms)%s",
            name,
            status,
            invocation_id,
            trigger_kind,
            duration,
            f" {type(error).__name__}: {error}" if error else "",
        )
        if error is not None:
            log.debug("invocation failed", exc_info=error)
        return Outcome(result, {k: o.get() for k, o in outs.items()}, error, duration, invocation_id)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
