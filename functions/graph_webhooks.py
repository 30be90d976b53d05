"""Graph callbacks: change and lifecycle notifications — validate, enqueue, answer 202."""

import azure.functions as func

from functions.http import Blueprint, operation
from shared.service import notifications
from shared.service.ports import Services

bp = Blueprint()


def _handshake(req: func.HttpRequest) -> func.HttpResponse | None:
    # Graph validates both URLs before creating a subscription: echo the decoded token
    # as text/plain within 10 s, before any I/O.
    token = req.params.get("validationToken")
    if token is None:
        return None
    return func.HttpResponse(token, status_code=200, mimetype="text/plain")


async def _receive(req: func.HttpRequest, svc: Services, *, lifecycle: bool) -> func.HttpResponse:
    answer = _handshake(req)
    if answer is not None:
        return answer
    # Durable before we answer; a queue failure becomes a 5xx, so Graph delivers again.
    await notifications.receive(svc, req.get_body(), lifecycle=lifecycle)
    return func.HttpResponse(status_code=202)


@bp.route(route="graph/notifications", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@operation("graph_notifications")
async def graph_notifications(req: func.HttpRequest, svc: Services) -> func.HttpResponse:
    return await _receive(req, svc, lifecycle=False)


@bp.route(route="graph/lifecycle", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@operation("graph_lifecycle")
async def graph_lifecycle(req: func.HttpRequest, svc: Services) -> func.HttpResponse:
    return await _receive(req, svc, lifecycle=True)
