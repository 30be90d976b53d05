"""Workers: link to a Microsoft 365 account (admin, self-service or batch); blank unlinks."""

import azure.functions as func

from functions import link_routes
from functions.http import handle, json_response, read_json
from shared import links
from shared.bootstrap import services

bp = func.Blueprint()


@bp.route(route="orgs/{org}/workers/batch-link", methods=["POST"])
async def batch_link_workers(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    async def run() -> func.HttpResponse:
        rows = links.parse_batch(req.headers.get("content-type", ""), req.get_body())
        return json_response(await links.batch_link(services(), req.route_params["org"], rows))

    return await handle(req, context, "batch_link", run)


@bp.route(route="orgs/{org}/workers/{worker}", methods=["PUT"])
async def put_worker(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    async def run() -> func.HttpResponse:
        request = links.parse_worker(req.route_params["worker"], read_json(req))
        link, _ = await links.put_worker(services(), req.route_params["org"], request)
        return json_response(links.worker_view(link))

    return await handle(req, context, "put_worker", run)


@bp.route(route="orgs/{org}/workers/{worker}", methods=["GET"])
async def get_worker(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    async def run() -> func.HttpResponse:
        return await link_routes.get_response(req, links.WorkerLink, links.worker_view)

    return await handle(req, context, "get_worker", run)


@bp.route(route="orgs/{org}/workers/{worker}", methods=["DELETE"])
async def delete_worker(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    async def run() -> func.HttpResponse:
        return await link_routes.delete_response(req, links.WorkerLink)

    return await handle(req, context, "delete_worker", run)


@bp.route(route="orgs/{org}/workers", methods=["GET"])
async def list_workers(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    async def run() -> func.HttpResponse:
        return await link_routes.list_response(req, links.WorkerLink, links.worker_view)

    return await handle(req, context, "list_workers", run)
