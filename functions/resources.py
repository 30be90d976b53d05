"""Resources (rooms, equipment): link to a room/equipment mailbox, import from the tenant."""

import azure.functions as func

from functions import links, queue
from functions.http import Blueprint, json_response, operation, read_json
from shared.adapters.messages import ImportChunk, ImportDiscover
from shared.adapters.records import ResourceLink
from shared.service import linking, room_import
from shared.service.link_requests import parse_resource
from shared.service.link_views import resource_view
from shared.service.ports import Services

bp = Blueprint()


@bp.route(route="orgs/{org}/resources/import", methods=["POST"])
@operation("import_resources")
async def import_resources(req: func.HttpRequest, svc: Services) -> func.HttpResponse:
    """200 with every row when the job finished within a few seconds, else 202 (poll the job)."""
    view, finished = await room_import.start(svc, req.route_params["org"])
    return json_response(view, 200 if finished else 202)


@bp.queue_trigger(arg_name="msg", queue_name=ImportDiscover.QUEUE, connection="AzureWebJobsStorage")
@queue.worker(ImportDiscover, "import_discover")
async def discover_resources(work: ImportDiscover, svc: Services, final: bool) -> None:
    await room_import.discover(svc, work, final=final)


@bp.queue_trigger(arg_name="msg", queue_name=ImportChunk.QUEUE, connection="AzureWebJobsStorage")
@queue.worker(ImportChunk, "import_chunk")
async def import_resource_chunk(work: ImportChunk, svc: Services, final: bool) -> None:
    await room_import.run_chunk(svc, work, final=final)


@bp.route(route="orgs/{org}/resources/{resource}", methods=["PUT"])
@operation("put_resource")
async def put_resource(req: func.HttpRequest, svc: Services) -> func.HttpResponse:
    request = parse_resource(req.route_params["resource"], read_json(req))
    link, _ = await linking.put_resource(svc, req.route_params["org"], request)
    return json_response(resource_view(link, svc.clock.now()))


@bp.route(route="orgs/{org}/resources/{resource}", methods=["GET"])
@operation("get_resource")
async def get_resource(req: func.HttpRequest, svc: Services) -> func.HttpResponse:
    return await links.get_response(req, svc, ResourceLink)


@bp.route(route="orgs/{org}/resources/{resource}", methods=["DELETE"])
@operation("delete_resource")
async def delete_resource(req: func.HttpRequest, svc: Services) -> func.HttpResponse:
    return await links.delete_response(req, svc, ResourceLink)


@bp.route(route="orgs/{org}/resources", methods=["GET"])
@operation("list_resources")
async def list_resources(req: func.HttpRequest, svc: Services) -> func.HttpResponse:
    return await links.list_response(req, svc, ResourceLink)
