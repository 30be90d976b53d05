"""What every queue function shares: the typed message, log context, and whether this is
the last try the host will make (host.json maxDequeueCount, read into the settings)."""

from collections.abc import Awaitable, Callable
from typing import TypeVar

import azure.functions as func
from opentelemetry.trace import SpanKind

from shared.adapters import telemetry
from shared.adapters.messages import QueueMessage
from shared.bootstrap import services
from shared.core import metric_names
from shared.core.logcontext import log_context
from shared.service.ports import Services

M = TypeVar("M", bound=QueueMessage)
QueueFunction = Callable[[func.QueueMessage, func.Context], Awaitable[None]]


class RetryLater(Exception):
    """Raised by a queue function whose work is not finished: the host tries it again."""


def worker(message: type[M], name: str) -> Callable[[Callable[[M, Services, bool], Awaitable[None]]], QueueFunction]:
    """Make `fn(work, services, final)` a queue function for `message`'s queue; raising
    makes the host retry the message (and poison it after the last try)."""

    def wrap(fn: Callable[[M, Services, bool], Awaitable[None]]) -> QueueFunction:
        async def handler(msg: func.QueueMessage, context: func.Context) -> None:
            svc = services()
            final = (msg.dequeue_count or 1) >= svc.settings.max_dequeue_count
            try:
                wire = msg.get_json()
                work = message.from_wire(wire)
            except ValueError:  # not JSON, or BadMessage: retried, then poisoned
                if final:
                    svc.metrics.add(metric_names.POISON, queue=message.QUEUE)
                raise
            # The work continues the trace that sent it (the host's invocation span is linked).
            parent, links = telemetry.message_parent(wire)
            with (
                log_context(org=getattr(work, "org", None), operation=name, invocation=context.invocation_id),
                telemetry.span(
                    f"queue {name}",
                    kind=SpanKind.CONSUMER,
                    parent=parent,
                    links=links,
                    attributes={
                        "calsync.operation": name,
                        "calsync.queue": message.QUEUE,
                        "calsync.dequeue_count": msg.dequeue_count or 1,
                    },
                ),
            ):
                try:
                    await fn(work, svc, final)
                except Exception:
                    if final:  # the host moves the message to <queue>-poison now
                        svc.metrics.add(metric_names.POISON, queue=message.QUEUE)
                    raise

        handler.__name__, handler.__qualname__, handler.__doc__ = fn.__name__, fn.__qualname__, fn.__doc__
        handler.__module__ = fn.__module__
        return handler

    return wrap
