"""Graph callbacks: change and lifecycle notifications — validate, hand the work to the
queue output bindings, answer 202."""

import typing

import azure.functions as func

from functions.http import Blueprint, respond
from shared.adapters.message_wire import encode
from shared.adapters.messages import MailboxSync, SubscriptionLifecycle
from shared.service import notifications
from shared.service.ports import Services

bp = Blueprint()

# The output bindings' type as Microsoft's Python sample writes it (several messages per
# call: functions-bindings-storage-queue-output.md, "create multiple messages").
Messages = func.Out[typing.List[str]]  # noqa: UP006 - the worker's documented annotation


def _handshake(req: func.HttpRequest) -> func.HttpResponse | None:
    # Graph validates both URLs before creating a subscription: echo the decoded token
    # as text/plain within 10 s, before any I/O.
    token = req.params.get("validationToken")
    if token is None:
        return None
    return func.HttpResponse(token, status_code=200, mimetype="text/plain")


async def _receive(
    req: func.HttpRequest, svc: Services, outputs: dict[str, Messages], *, lifecycle: bool
) -> func.HttpResponse:
    answer = _handshake(req)
    if answer is not None:
        return answer
    receipt = await notifications.receive(svc, req.get_body(), lifecycle=lifecycle)
    texts: dict[str, list[str]] = {}
    for message in receipt.work:
        texts.setdefault(message.QUEUE, []).append(encode(message))
    for queue, out in outputs.items():
        if texts.get(queue):
            out.set(texts[queue])
    # Durable before Graph hears 202: the host writes the bindings after we return and
    # before it answers, and a failed write fails the request (5xx), so Graph delivers again.
    return func.HttpResponse(status_code=202)


@bp.route(route="graph/notifications", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@bp.queue_output(arg_name="rounds", queue_name=MailboxSync.QUEUE, connection="AzureWebJobsStorage")
async def graph_notifications(req: func.HttpRequest, context: func.Context, rounds: Messages) -> func.HttpResponse:
    outputs = {MailboxSync.QUEUE: rounds}
    return await respond("graph_notifications", req, context, lambda svc: _receive(req, svc, outputs, lifecycle=False))


@bp.route(route="graph/lifecycle", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@bp.queue_output(arg_name="rounds", queue_name=MailboxSync.QUEUE, connection="AzureWebJobsStorage")
@bp.queue_output(arg_name="events", queue_name=SubscriptionLifecycle.QUEUE, connection="AzureWebJobsStorage")
async def graph_lifecycle(
    req: func.HttpRequest, context: func.Context, rounds: Messages, events: Messages
) -> func.HttpResponse:
    outputs = {MailboxSync.QUEUE: rounds, SubscriptionLifecycle.QUEUE: events}
    return await respond("graph_lifecycle", req, context, lambda svc: _receive(req, svc, outputs, lifecycle=True))
