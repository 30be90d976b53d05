"""Appointments: push to Outlook (create/update/delete), read their sync status."""

import azure.functions as func

from functions.http import handle, json_response, read_json
from shared import appointments
from shared.bootstrap import services
from shared.logctx import log_context
from shared.push import RETRY_QUEUE

bp = func.Blueprint()
MAX_DEQUEUE = 5  # host.json maxDequeueCount


def _answer(view: dict) -> func.HttpResponse:
    # 202 while Graph held something up: the queue finishes it; nothing accepted is lost.
    return json_response(view, 202 if appointments.pending(view) else 200)


@bp.route(route="orgs/{org}/appointments/{appointment}", methods=["PUT"])
async def put_appointment(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    async def run() -> func.HttpResponse:
        body = read_json(req)
        return _answer(
            await appointments.put(services(), req.route_params["org"], req.route_params["appointment"], body)
        )

    return await handle(req, context, "put_appointment", run)


@bp.route(route="orgs/{org}/appointments/{appointment}", methods=["DELETE"])
async def delete_appointment(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    async def run() -> func.HttpResponse:
        return _answer(await appointments.delete(services(), req.route_params["org"], req.route_params["appointment"]))

    return await handle(req, context, "delete_appointment", run)


@bp.route(route="orgs/{org}/appointments/{appointment}", methods=["GET"])
async def get_appointment(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    async def run() -> func.HttpResponse:
        return json_response(
            await appointments.get(services(), req.route_params["org"], req.route_params["appointment"])
        )

    return await handle(req, context, "get_appointment", run)


@bp.queue_trigger(arg_name="msg", queue_name=RETRY_QUEUE, connection="AzureWebJobsStorage")
async def retry_appointment(msg: func.QueueMessage, context: func.Context) -> None:
    """Finish a sync that Graph held up. Raise to retry; the last try marks what is left failed."""
    work = msg.get_json()
    final = (msg.dequeue_count or 1) >= MAX_DEQUEUE
    with log_context(org=work["org"], operation="retry_appointment", invocation=context.invocation_id):
        done = await appointments.retry(services(), work["org"], work["appointment"], final=final)
    if not done and not final:
        raise RuntimeError(f"appointment {work['appointment']} still pending; retrying")
