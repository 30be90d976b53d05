"""Workers: link to a Microsoft 365 account (admin, self-service or batch); blank unlinks."""

import azure.functions as func

from functions import links
from functions.http import Blueprint, json_response, operation, read_json
from shared.adapters.records import WorkerLink
from shared.service import batch_link, linking
from shared.service.link_requests import parse_worker
from shared.service.link_views import worker_view
from shared.service.ports import Services

bp = Blueprint()


@bp.route(route="orgs/{org}/workers/batch-link", methods=["POST"])
@operation("batch_link")
async def batch_link_workers(req: func.HttpRequest, svc: Services) -> func.HttpResponse:
    rows = batch_link.parse_batch(req.headers.get("content-type", ""), req.get_body())
    return json_response(await batch_link.batch_link(svc, req.route_params["org"], rows))


@bp.route(route="orgs/{org}/workers/{worker}", methods=["PUT"])
@operation("put_worker")
async def put_worker(req: func.HttpRequest, svc: Services) -> func.HttpResponse:
    request = parse_worker(req.route_params["worker"], read_json(req))
    link, _ = await linking.put_worker(svc, req.route_params["org"], request)
    return json_response(worker_view(link, svc.clock.now()))


@bp.route(route="orgs/{org}/workers/{worker}", methods=["GET"])
@operation("get_worker")
async def get_worker(req: func.HttpRequest, svc: Services) -> func.HttpResponse:
    return await links.get_response(req, svc, WorkerLink)


@bp.route(route="orgs/{org}/workers/{worker}", methods=["DELETE"])
@operation("delete_worker")
async def delete_worker(req: func.HttpRequest, svc: Services) -> func.HttpResponse:
    return await links.delete_response(req, svc, WorkerLink)


@bp.route(route="orgs/{org}/workers", methods=["GET"])
@operation("list_workers")
async def list_workers(req: func.HttpRequest, svc: Services) -> func.HttpResponse:
    return await links.list_response(req, svc, WorkerLink)
