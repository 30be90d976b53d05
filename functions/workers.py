"""Workers: link to a Microsoft 365 account (admin, self-service or batch); blank unlinks."""

import azure.functions as func

from functions.http import handle, json_response, query_int, read_json
from shared import links
from shared.bootstrap import services
from shared.errors import InvalidInput

bp = func.Blueprint()
STATUSES = ("linked", "error", "unlinked")


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
        link = await links.get_link(
            services(), links.WorkerLink, req.route_params["org"], worker=req.route_params["worker"]
        )
        return json_response(links.worker_view(link))

    return await handle(req, context, "get_worker", run)


@bp.route(route="orgs/{org}/workers/{worker}", methods=["DELETE"])
async def delete_worker(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    async def run() -> func.HttpResponse:
        await links.delete_link(
            services(), links.WorkerLink, req.route_params["org"], worker=req.route_params["worker"]
        )
        return func.HttpResponse(status_code=204)

    return await handle(req, context, "delete_worker", run)


@bp.route(route="orgs/{org}/workers", methods=["GET"])
async def list_workers(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    async def run() -> func.HttpResponse:
        status = req.params.get("status")
        if status and status not in STATUSES:
            raise InvalidInput("status", f"status must be one of {', '.join(STATUSES)}")
        items, cursor = await links.list_links(
            services(),
            links.WorkerLink,
            req.route_params["org"],
            status=status,
            limit=query_int(req, "limit", 100, 1, 1000),
            after=req.params.get("after"),
        )
        return json_response({"workers": [links.worker_view(i) for i in items], "next": cursor})

    return await handle(req, context, "list_workers", run)
