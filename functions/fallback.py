"""Any other path under /api: 404 problem+json, like every other error, instead of the
host's empty 404. Routing prefers every literal route over this catch-all (ASP.NET Core
route precedence in the Functions host; the local host orders routes the same way), and it
is anonymous so that it says nothing more to a caller without a key than the host would."""

import azure.functions as func

from functions.http import problem

bp = func.Blueprint()
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


@bp.route(route="{*path}", methods=METHODS, auth_level=func.AuthLevel.ANONYMOUS)
async def unknown_route(req: func.HttpRequest) -> func.HttpResponse:
    path = req.route_params.get("path") or ""
    return problem(404, "route_not_found", f"there is no {req.method} /api/{path}; docs/api.md lists every route")
