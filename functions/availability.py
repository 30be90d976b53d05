"""Free/busy of workers and resources, so the booking product can avoid double-booking; and
suggested times and rooms for a meeting."""

import azure.functions as func

from functions.http import Blueprint, json_response, operation, read_json
from shared.service import availability, suggestions
from shared.service.ports import Services

bp = Blueprint()


@bp.route(route="orgs/{org}/availability", methods=["POST"])
@operation("get_availability")
async def get_availability(req: func.HttpRequest, svc: Services) -> func.HttpResponse:
    """Busy blocks and working hours of workers and resources over a period (Graph's getSchedule)."""
    body = read_json(req)
    return json_response(await availability.availability(svc, req.route_params["org"], body))


@bp.route(route="orgs/{org}/suggestions", methods=["POST"])
@operation("find_meeting_times")
async def find_meeting_times(req: func.HttpRequest, svc: Services) -> func.HttpResponse:
    """Times (and rooms) when the required workers can all meet, best for the optional ones."""
    body = read_json(req)
    return json_response(await suggestions.suggest(svc, req.route_params["org"], body))
