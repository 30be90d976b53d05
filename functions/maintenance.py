"""Self-healing: renewal and reconcile timers that fan out, and their queue workers."""

import azure.functions as func

from functions.http import handle, json_response
from shared import maintenance
from shared.bootstrap import services
from shared.health import org_health
from shared.logctx import log_context

bp = func.Blueprint()
MAX_DEQUEUE = 5  # host.json maxDequeueCount


@bp.timer_trigger(schedule="%CALSYNC_RENEW_SCHEDULE%", arg_name="timer", run_on_startup=False, use_monitor=True)
async def renew_subscriptions(timer: func.TimerRequest, context: func.Context) -> None:
    with log_context(operation="renew_subscriptions", invocation=context.invocation_id):
        await maintenance.enqueue_renewals(services(), services().settings.renew_horizon)


@bp.timer_trigger(schedule="%CALSYNC_RECONCILE_SCHEDULE%", arg_name="timer", run_on_startup=False, use_monitor=True)
async def reconcile(timer: func.TimerRequest, context: func.Context) -> None:
    with log_context(operation="reconcile", invocation=context.invocation_id):
        await maintenance.enqueue_reconcile(services())


@bp.queue_trigger(arg_name="msg", queue_name=maintenance.MAINTENANCE_QUEUE, connection="AzureWebJobsStorage")
async def maintain_subscription(msg: func.QueueMessage, context: func.Context) -> None:
    work = msg.get_json()
    with log_context(operation="renew_subscription", invocation=context.invocation_id):
        await maintenance.renew(services(), work["subscriptionId"], final=(msg.dequeue_count or 1) >= MAX_DEQUEUE)


@bp.queue_trigger(arg_name="msg", queue_name=maintenance.LIFECYCLE_QUEUE, connection="AzureWebJobsStorage")
async def handle_lifecycle(msg: func.QueueMessage, context: func.Context) -> None:
    work = msg.get_json()
    with log_context(org=work.get("org"), operation="lifecycle", invocation=context.invocation_id):
        await maintenance.lifecycle(services(), work, final=(msg.dequeue_count or 1) >= MAX_DEQUEUE)


@bp.queue_trigger(arg_name="msg", queue_name=maintenance.RECONCILE_QUEUE, connection="AzureWebJobsStorage")
async def reconcile_org(msg: func.QueueMessage, context: func.Context) -> None:
    work = msg.get_json()
    with log_context(org=work["org"], operation="reconcile_org", invocation=context.invocation_id):
        await maintenance.reconcile_org(services(), work["org"])


@bp.route(route="orgs/{org}/health", methods=["GET"])
async def get_org_health(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    async def run() -> func.HttpResponse:
        return json_response(await org_health(services(), req.route_params["org"]))

    return await handle(req, context, "org_health", run)
