"""Bulk push ("push my calendar") and its job status; the queue worker that does the work."""

import azure.functions as func

from functions.http import handle, json_response, read_json
from shared import jobs
from shared.bootstrap import services
from shared.logctx import log_context

bp = func.Blueprint()
MAX_DEQUEUE = 5  # host.json maxDequeueCount


@bp.route(route="orgs/{org}/workers/{worker}/push-calendar", methods=["POST"])
async def push_calendar(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    async def run() -> func.HttpResponse:
        body = read_json(req)
        view = await jobs.submit(services(), req.route_params["org"], req.route_params["worker"], body)
        return json_response(view, 202)

    return await handle(req, context, "push_calendar", run)


@bp.route(route="orgs/{org}/jobs/{job}", methods=["GET"])
async def get_job(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    async def run() -> func.HttpResponse:
        return json_response(await jobs.view(services(), req.route_params["org"], req.route_params["job"]))

    return await handle(req, context, "get_job", run)


@bp.queue_trigger(arg_name="msg", queue_name=jobs.JOB_QUEUE, connection="AzureWebJobsStorage")
async def run_push_chunk(msg: func.QueueMessage, context: func.Context) -> None:
    """One chunk of a bulk push. Raise to retry what Graph held up; the last try settles it."""
    work = msg.get_json()
    final = (msg.dequeue_count or 1) >= MAX_DEQUEUE
    with log_context(org=work["org"], operation="push_chunk", invocation=context.invocation_id):
        done = await jobs.run_chunk(services(), work, final=final)
    if not done and not final:
        raise RuntimeError(f"job {work['job']} chunk {work['chunk']}: some appointments still pending")
