"""Resources (rooms, equipment): link to a room/equipment mailbox, import from the tenant."""

import azure.functions as func

from functions import link_routes
from functions.http import handle, json_response, read_json
from shared import links
from shared.bootstrap import services

bp = func.Blueprint()


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
        return await link_routes.get_response(req, links.ResourceLink, links.resource_view)

    return await handle(req, context, "get_resource", run)


@bp.route(route="orgs/{org}/resources/{resource}", methods=["DELETE"])
async def delete_resource(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    async def run() -> func.HttpResponse:
        return await link_routes.delete_response(req, links.ResourceLink)

    return await handle(req, context, "delete_resource", run)


@bp.route(route="orgs/{org}/resources", methods=["GET"])
async def list_resources(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    async def run() -> func.HttpResponse:
        return await link_routes.list_response(req, links.ResourceLink, links.resource_view)

    return await handle(req, context, "list_resources", run)
