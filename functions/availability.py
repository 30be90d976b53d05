"""Free/busy of workers and resources, so the booking product can avoid double-booking."""

import azure.functions as func

from functions.http import Blueprint, json_response, operation, read_json
from shared.service import availability
from shared.service.ports import Services

bp = Blueprint()


@bp.route(route="orgs/{org}/availability", methods=["POST"])
@operation("get_availability")
async def get_availability(req: func.HttpRequest, svc: Services) -> func.HttpResponse:
    """Busy blocks and working hours of workers and resources over a period (Graph's getSchedule)."""
    body = read_json(req)
    return json_response(await availability.availability(svc, req.route_params["org"], body))
