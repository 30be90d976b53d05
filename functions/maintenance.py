"""Self-healing: renewal, reconcile and room-release timers that fan out, and their queue workers."""

import azure.functions as func

from functions import queue
from functions.http import Blueprint, json_response, operation
from shared.adapters import telemetry
from shared.adapters.messages import OrgReconcile, RenewSubscription, RoomRelease, SubscriptionLifecycle
from shared.bootstrap import services
from shared.core.logcontext import log_context
from shared.service import maintenance, room_release
from shared.service.health import org_health
from shared.service.ports import Services

bp = Blueprint()


@bp.timer_trigger(schedule="%CALSYNC_RENEW_SCHEDULE%", arg_name="timer", run_on_startup=False, use_monitor=True)
async def renew_subscriptions(timer: func.TimerRequest, context: func.Context) -> None:
    with (
        log_context(operation="renew_subscriptions", invocation=context.invocation_id),
        telemetry.timer_span("renew_subscriptions", context),
    ):
        await maintenance.enqueue_renewals(services())


@bp.timer_trigger(schedule="%CALSYNC_RECONCILE_SCHEDULE%", arg_name="timer", run_on_startup=False, use_monitor=True)
async def reconcile(timer: func.TimerRequest, context: func.Context) -> None:
    with (
        log_context(operation="reconcile", invocation=context.invocation_id),
        telemetry.timer_span("reconcile", context),
    ):
        await maintenance.enqueue_reconcile(services())


# Every minute: a grace period of releaseAfterMinutes is kept to the minute. Only orgs with
# roomCheckIn on get a message (shared.service.room_release).
@bp.timer_trigger(schedule="0 * * * * *", arg_name="timer", run_on_startup=False, use_monitor=True)
async def release_rooms(timer: func.TimerRequest, context: func.Context) -> None:
    with (
        log_context(operation="release_rooms", invocation=context.invocation_id),
        telemetry.timer_span("release_rooms", context),
    ):
        await room_release.fan_out(services())


@bp.queue_trigger(arg_name="msg", queue_name=RoomRelease.QUEUE, connection="AzureWebJobsStorage")
@queue.worker(RoomRelease, "release_org_rooms")
async def release_org_rooms(work: RoomRelease, svc: Services, final: bool) -> None:
    await room_release.release_due(svc, work.org)


@bp.queue_trigger(arg_name="msg", queue_name=RenewSubscription.QUEUE, connection="AzureWebJobsStorage")
@queue.worker(RenewSubscription, "renew_subscription")
async def maintain_subscription(work: RenewSubscription, svc: Services, final: bool) -> None:
    await maintenance.renew(svc, work.subscription_id, final=final)


@bp.queue_trigger(arg_name="msg", queue_name=SubscriptionLifecycle.QUEUE, connection="AzureWebJobsStorage")
@queue.worker(SubscriptionLifecycle, "lifecycle")
async def handle_lifecycle(work: SubscriptionLifecycle, svc: Services, final: bool) -> None:
    await maintenance.lifecycle(svc, work, final=final)


@bp.queue_trigger(arg_name="msg", queue_name=OrgReconcile.QUEUE, connection="AzureWebJobsStorage")
@queue.worker(OrgReconcile, "reconcile_org")
async def reconcile_org(work: OrgReconcile, svc: Services, final: bool) -> None:
    await maintenance.reconcile_org(svc, work.org)


@bp.route(route="orgs/{org}/health", methods=["GET"])
@operation("org_health")
async def get_org_health(req: func.HttpRequest, svc: Services) -> func.HttpResponse:
    return json_response(await org_health(svc, req.route_params["org"]))
