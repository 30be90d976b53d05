"""GET /api/health — storage reachability and the settings in effect (never a secret)."""

import azure.functions as func

from functions.http import Blueprint, json_response, operation
from shared.service import health
from shared.service.ports import Services

bp = Blueprint()


@bp.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@operation("health")
async def health_check(req: func.HttpRequest, svc: Services) -> func.HttpResponse:
    report = await health.check(svc)
    body = {
        "status": "healthy" if report.healthy else "unhealthy",
        "checks": report.checks,
        "settings": report.settings,
    }
    return json_response(body, 200 if report.healthy else 503)
