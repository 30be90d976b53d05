"""GET /api/health — storage reachability and the settings in effect (never a secret)."""

import azure.functions as func

from functions.http import json_response
from shared import health
from shared.bootstrap import services
from shared.logctx import log_context

bp = func.Blueprint()


@bp.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
async def health_check(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    with log_context(operation="health", invocation=context.invocation_id):
        report = await health.check(services())
    body = {
        "status": "healthy" if report.healthy else "unhealthy",
        "checks": report.checks,
        "settings": report.settings,
    }
    return json_response(body, 200 if report.healthy else 503)
