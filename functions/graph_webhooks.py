"""Graph callbacks: change and lifecycle notifications — validate, enqueue, answer 202."""

import azure.functions as func

from functions.http import handle
from shared import notifications
from shared.bootstrap import services

bp = func.Blueprint()


def _handshake(req: func.HttpRequest) -> func.HttpResponse | None:
    # Graph validates both URLs before creating a subscription: echo the decoded token
    # as text/plain within 10 s, before any I/O.
    token = req.params.get("validationToken")
    if token is None:
        return None
    return func.HttpResponse(token, status_code=200, mimetype="text/plain")


async def _receive(req: func.HttpRequest, context: func.Context, lifecycle: bool) -> func.HttpResponse:
    answer = _handshake(req)
    if answer is not None:
        return answer

    async def run() -> func.HttpResponse:
        await notifications.receive(services(), req.get_body(), lifecycle=lifecycle)
        return func.HttpResponse(status_code=202)

    # A queue failure becomes a 5xx, so Graph delivers again: nothing accepted is lost.
    return await handle(req, context, "graph_lifecycle" if lifecycle else "graph_notifications", run)


@bp.route(route="graph/notifications", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
async def graph_notifications(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    return await _receive(req, context, lifecycle=False)


@bp.route(route="graph/lifecycle", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
async def graph_lifecycle(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    return await _receive(req, context, lifecycle=True)
