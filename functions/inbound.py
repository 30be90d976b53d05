"""Inbound: the mailbox delta worker, the change feed, held deletions, the product webhook."""

from datetime import datetime

import azure.functions as func

from functions.http import handle, json_response, query_int
from shared import feed, mailbox_sync, webhooks
from shared.bootstrap import services
from shared.logctx import log_context
from shared.orgs import require_org

bp = func.Blueprint()


@bp.queue_trigger(arg_name="msg", queue_name=mailbox_sync.SYNC_QUEUE, connection="AzureWebJobsStorage")
async def sync_mailbox(msg: func.QueueMessage, context: func.Context) -> None:
    """One delta round for one mailbox; a lost race or a Graph failure raises and retries."""
    work = msg.get_json()
    at = datetime.fromisoformat(work["at"]) if work.get("at") else None
    with log_context(org=work["org"], operation="sync_mailbox", invocation=context.invocation_id):
        await mailbox_sync.run(services(), work["org"], work["kind"], work["owner"], notified_at=at)


@bp.queue_trigger(arg_name="msg", queue_name=mailbox_sync.WEBHOOK_QUEUE, connection="AzureWebJobsStorage")
async def deliver_webhook(msg: func.QueueMessage, context: func.Context) -> None:
    work = msg.get_json()
    with log_context(org=work["org"], operation="deliver_webhook", invocation=context.invocation_id):
        await webhooks.deliver(services(), work["org"], int(work.get("attempt", 0)))


@bp.route(route="orgs/{org}/changes", methods=["GET"])
async def get_changes(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    async def run() -> func.HttpResponse:
        svc = services()
        org = await require_org(svc, req.route_params["org"])
        after = feed.decode_cursor(req.params.get("after"))
        rows = await feed.read(svc.store, org.org, after, query_int(req, "limit", 100, 1, 500))
        next_cursor = feed.encode_cursor(int(rows[-1].seq) if rows else after)
        return json_response({"changes": [feed.change_view(r) for r in rows], "next": next_cursor})

    return await handle(req, context, "get_changes", run)


@bp.route(route="orgs/{org}/workers/{worker}/confirm-deletions", methods=["POST"])
async def confirm_worker_deletions(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    async def run() -> func.HttpResponse:
        return json_response(
            await mailbox_sync.confirm_deletions(
                services(), req.route_params["org"], "worker", req.route_params["worker"]
            )
        )

    return await handle(req, context, "confirm_deletions", run)


@bp.route(route="orgs/{org}/resources/{resource}/confirm-deletions", methods=["POST"])
async def confirm_resource_deletions(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    async def run() -> func.HttpResponse:
        return json_response(
            await mailbox_sync.confirm_deletions(
                services(), req.route_params["org"], "resource", req.route_params["resource"]
            )
        )

    return await handle(req, context, "confirm_deletions", run)
