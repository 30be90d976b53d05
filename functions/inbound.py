"""Inbound: the mailbox delta worker, the change feed, held deletions, the product webhook."""

import azure.functions as func

from functions import queue
from functions.http import Blueprint, json_response, operation, query
from shared.adapters.messages import MailboxSync, MailboxSyncBatch, WebhookDelivery
from shared.core.api_queries import ChangesQuery
from shared.core.changes import decode_cursor, encode_cursor
from shared.core.errors import InvalidInput
from shared.service import feed, held_deletions, mailbox_rounds, reconcile_rounds, webhooks
from shared.service.orgs import require_org
from shared.service.ports import Services

bp = Blueprint()


@bp.queue_trigger(arg_name="msg", queue_name=MailboxSync.QUEUE, connection="AzureWebJobsStorage")
@queue.worker(MailboxSync, "sync_mailbox")
async def sync_mailbox(work: MailboxSync, svc: Services, final: bool) -> None:
    """One delta round for one mailbox; a lost race or a Graph failure raises and retries."""
    await mailbox_rounds.run(svc, work.org, work.kind, work.owner, notified_at=work.at, marked=work.marked)


@bp.queue_trigger(arg_name="msg", queue_name=MailboxSyncBatch.QUEUE, connection="AzureWebJobsStorage")
@queue.worker(MailboxSyncBatch, "sync_mailboxes")
async def sync_mailboxes(work: MailboxSyncBatch, svc: Services, final: bool) -> None:
    """Reconcile rounds for up to 50 mailboxes; one that fails is queued again on its own."""
    await reconcile_rounds.run_batch(svc, work)


@bp.queue_trigger(arg_name="msg", queue_name=WebhookDelivery.QUEUE, connection="AzureWebJobsStorage")
@queue.worker(WebhookDelivery, "deliver_webhook")
async def deliver_webhook(work: WebhookDelivery, svc: Services, final: bool) -> None:
    await webhooks.deliver(svc, work.org, work.attempt)


@bp.route(route="orgs/{org}/changes", methods=["GET"])
@operation("get_changes")
async def get_changes(req: func.HttpRequest, svc: Services) -> func.HttpResponse:
    org = await require_org(svc, req.route_params["org"])
    q = query(req, ChangesQuery)
    if q.latest and q.after:
        raise InvalidInput("latest", "latest reads the end of the feed: leave out after")
    after = decode_cursor(q.after)
    if q.latest:
        rows = await feed.latest(svc.store, org.org, q.limit)
    else:
        rows = await feed.read(svc.store, org.org, after, q.limit)
    next_cursor = encode_cursor(int(rows[-1].seq) if rows else after)
    return json_response({"changes": [feed.change_view(r) for r in rows], "next": next_cursor})


@bp.route(route="orgs/{org}/workers/{worker}/confirm-deletions", methods=["POST"])
@operation("confirm_deletions")
async def confirm_worker_deletions(req: func.HttpRequest, svc: Services) -> func.HttpResponse:
    org, worker = req.route_params["org"], req.route_params["worker"]
    return json_response(await held_deletions.confirm_deletions(svc, org, "worker", worker))


@bp.route(route="orgs/{org}/resources/{resource}/confirm-deletions", methods=["POST"])
@operation("confirm_deletions")
async def confirm_resource_deletions(req: func.HttpRequest, svc: Services) -> func.HttpResponse:
    org, resource = req.route_params["org"], req.route_params["resource"]
    return json_response(await held_deletions.confirm_deletions(svc, org, "resource", resource))
