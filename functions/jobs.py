"""Bulk push ("push my calendar") and its job status; the queue worker that does the work."""

import azure.functions as func

from functions import queue
from functions.http import Blueprint, json_response, operation, read_json
from shared.adapters.messages import PushChunk
from shared.service import bulk_jobs
from shared.service.ports import Services

bp = Blueprint()


@bp.route(route="orgs/{org}/workers/{worker}/push-calendar", methods=["POST"])
@operation("push_calendar")
async def push_calendar(req: func.HttpRequest, svc: Services) -> func.HttpResponse:
    view = await bulk_jobs.submit(svc, req.route_params["org"], req.route_params["worker"], read_json(req))
    return json_response(view, 202)


@bp.route(route="orgs/{org}/jobs/{job}", methods=["GET"])
@operation("get_job")
async def get_job(req: func.HttpRequest, svc: Services) -> func.HttpResponse:
    return json_response(await bulk_jobs.view(svc, req.route_params["org"], req.route_params["job"]))


@bp.queue_trigger(arg_name="msg", queue_name=PushChunk.QUEUE, connection="AzureWebJobsStorage")
@queue.worker(PushChunk, "push_chunk")
async def run_push_chunk(work: PushChunk, svc: Services, final: bool) -> None:
    """One chunk of a bulk push. Raise to retry what Graph held up; the last try settles it."""
    done = await bulk_jobs.run_chunk(svc, work, final=final)
    if not done and not final:
        raise queue.RetryLater(f"job {work.job} chunk {work.chunk}: some appointments still pending")
