"""Any other path or method under /api: 404, or 405 with `Allow` where the path exists,
as problem+json like every other error, instead of the host's empty 404. Routing prefers
every literal route over this catch-all (ASP.NET Core route precedence in the Functions
host; the local host orders routes the same way), and it is anonymous so that it says
nothing more to a caller without a key than the host would."""

import azure.functions as func

from functions.http import ALL_METHODS, Blueprint, problem
from functions.openapi import allowed_methods

bp = Blueprint()


@bp.route(route="{*path}", methods=list(ALL_METHODS), auth_level=func.AuthLevel.ANONYMOUS)
async def unknown_route(req: func.HttpRequest) -> func.HttpResponse:
    path = req.route_params.get("path") or ""
    allowed = allowed_methods(path)
    if allowed and req.method not in allowed:
        answer = problem(405, "method_not_allowed", f"/api/{path} takes {', '.join(allowed)}, not {req.method}")
        answer.headers["Allow"] = ", ".join(allowed)
        return answer
    return problem(404, "route_not_found", f"there is no {req.method} /api/{path}; /api/openapi.json lists every route")
