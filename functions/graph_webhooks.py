"""Graph callbacks: change and lifecycle notifications (the validation handshake first)."""

import azure.functions as func

bp = func.Blueprint()


def _handshake(req: func.HttpRequest) -> func.HttpResponse | None:
    # Graph validates both URLs before creating a subscription: echo the decoded token
    # as text/plain within 10 s, before any I/O.
    token = req.params.get("validationToken")
    if token is None:
        return None
    return func.HttpResponse(token, status_code=200, mimetype="text/plain")


@bp.route(route="graph/notifications", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
async def graph_notifications(req: func.HttpRequest) -> func.HttpResponse:
    answer = _handshake(req)
    if answer is not None:
        return answer
    return func.HttpResponse(status_code=202)


@bp.route(route="graph/lifecycle", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
async def graph_lifecycle(req: func.HttpRequest) -> func.HttpResponse:
    answer = _handshake(req)
    if answer is not None:
        return answer
    return func.HttpResponse(status_code=202)
