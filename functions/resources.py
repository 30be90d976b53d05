"""Resources (rooms, equipment): link to a room/equipment mailbox, import from the tenant."""

import azure.functions as func

from functions.http import handle, json_response, query_int, read_json
from shared import links
from shared.bootstrap import services
from shared.errors import InvalidInput

bp = func.Blueprint()
STATUSES = ("linked", "error", "unlinked")


@bp.route(route="orgs/{org}/resources/import", methods=["POST"])
async def import_resources(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    async def run() -> func.HttpResponse:
        return json_response(await links.import_resources(services(), req.route_params["org"]))

    return await handle(req, context, "import_resources", run)


@bp.route(route="orgs/{org}/resources/{resource}", methods=["PUT"])
async def put_resource(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    async def run() -> func.HttpResponse:
        request = links.parse_resource(req.route_params["resource"], read_json(req))
        link, _ = await links.put_resource(services(), req.route_params["org"], request)
        return json_response(links.resource_view(link))

    return await handle(req, context, "put_resource", run)


@bp.route(route="orgs/{org}/resources/{resource}", methods=["GET"])
async def get_resource(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    async def run() -> func.HttpResponse:
        link = await links.get_link(
            services(), links.ResourceLink, req.route_params["org"], resource=req.route_params["resource"]
        )
        return json_response(links.resource_view(link))

    return await handle(req, context, "get_resource", run)


@bp.route(route="orgs/{org}/resources/{resource}", methods=["DELETE"])
async def delete_resource(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    async def run() -> func.HttpResponse:
        await links.delete_link(
            services(), links.ResourceLink, req.route_params["org"], resource=req.route_params["resource"]
        )
        return func.HttpResponse(status_code=204)

    return await handle(req, context, "delete_resource", run)


@bp.route(route="orgs/{org}/resources", methods=["GET"])
async def list_resources(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    async def run() -> func.HttpResponse:
        status = req.params.get("status")
        if status and status not in STATUSES:
            raise InvalidInput("status", f"status must be one of {', '.join(STATUSES)}")
        items, cursor = await links.list_links(
            services(),
            links.ResourceLink,
            req.route_params["org"],
            status=status,
            limit=query_int(req, "limit", 100, 1, 1000),
            after=req.params.get("after"),
        )
        return json_response({"resources": [links.resource_view(i) for i in items], "next": cursor})

    return await handle(req, context, "list_resources", run)
