"""Delivering the change feed to the booking product's webhook, signed per Standard Webhooks.

Each POST carries `webhook-id`, `webhook-timestamp` and `webhook-signature`
(standardwebhooks.Webhook(webhookSecret).sign), the secret being `whsec_` + base64 (see
shared/core/webhook_secret.py). Batches of up to 100 changes in feed order; `webhook-id` is
the cursor of the batch's last change. A failing receiver is retried with backoff (up to an
hour apart) and never loses a change: the cursor only moves on a 2xx, and the feed keeps
everything. A retry sends exactly the batch that failed (the cursor records its last seq):
the same changes, webhook-id and body, so a receiver can de-duplicate on webhook-id; the
changes after it follow once it is acknowledged.

Each org has at most one retry chain: the cursor records when its next retry is due, and
while one is due a round with new changes enqueues nothing (the retry carries them); of
two senders that fail at once only the one whose cursor write wins schedules the retry.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from standardwebhooks import Webhook

from shared.adapters.inbound_records import FeedChange, FeedCounter, WebhookCursor
from shared.adapters.messages import WebhookDelivery
from shared.adapters.records import Org
from shared.core import metric_names
from shared.core.clock import json_default
from shared.core.errors import ConcurrencyConflict, InvalidInput
from shared.core.webhook_secret import check_secret
from shared.service import feed
from shared.service.ports import Services, Store

log = logging.getLogger("calsync.webhooks")

BATCH = 100
MAX_DELAY_S = 3600
# A retry this late is taken for lost (its message never came): the next round starts anew.
CHAIN_GRACE = timedelta(minutes=5)
BAD_SECRET = "webhookSecret is not a Standard Webhooks secret (whsec_…): set a new one"


def signed_headers(secret: str, msg_id: str, body: bytes) -> dict[str, str]:
    """The Standard Webhooks headers of one POST, timestamped now (the receiver's clock
    judges it, so wall-clock time, never the virtual clock of a test)."""
    timestamp = int(time.time())
    signature = Webhook(secret).sign(msg_id, datetime.fromtimestamp(timestamp, UTC), body.decode())
    return {
        "Content-Type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature,
    }


def backoff_s(attempt: int) -> int:
    """Seconds before retry number `attempt + 1`: 2, 4, 8 … up to an hour."""
    return min(MAX_DELAY_S, 2 * 2**attempt)


async def nudge(services: Services, org: Org) -> bool:
    """New changes are in the feed: start a delivery, unless the org's retry chain is
    scheduled (it will carry them). True when a delivery message was sent."""
    if not org.config.webhook_url:
        return False
    cursor = await services.store.get(WebhookCursor, org=org.org, kind="webhook")
    if cursor is not None and cursor.retry_at is not None and cursor.retry_at > services.clock.now() - CHAIN_GRACE:
        return False
    await services.queues.send(WebhookDelivery(org.org, 0))
    return True


async def catch_up(services: Services, org: Org) -> bool:
    """Changes the webhook has not acknowledged, and no delivery on its way (its message was
    lost): start one. Reconcile calls this; a scheduled retry chain is left alone."""
    if not org.config.webhook_url:
        return False
    counter = await services.store.get(FeedCounter, org=org.org, kind="seq")
    cursor = await services.store.get(WebhookCursor, org=org.org, kind="webhook")
    if counter is None or counter.value <= (cursor.delivered if cursor else 0):
        return False
    return await nudge(services, org)


_running: set[str] = set()
_again: set[str] = set()


async def deliver(services: Services, org_id: str, attempt: int) -> dict[str, Any]:
    """Send what the org's webhook has not acknowledged yet. One sender per org in this
    process: a request that arrives while it runs makes it look once more."""
    if org_id in _running:
        _again.add(org_id)
        return {"delivered": 0, "coalesced": True}
    _running.add(org_id)
    total = 0
    try:
        while True:
            _again.discard(org_id)
            result = await _deliver_batch(services, org_id, attempt)
            total += result.get("delivered", 0)
            if result.get("error") or result.get("raced") or result.get("coalesced"):
                return {**result, "delivered": total}
            if not result.get("delivered") and org_id not in _again:
                return {"delivered": total}
    finally:
        _running.discard(org_id)


async def _deliver_batch(services: Services, org_id: str, attempt: int) -> dict[str, Any]:
    store = services.store
    org = await store.get(Org, org=org_id)
    config = org.config if org else None
    if config is None or not config.webhook_url or not config.webhook_secret:
        return {"delivered": 0}
    cursor = await store.get(WebhookCursor, org=org_id, kind="webhook") or WebhookCursor(org=org_id)
    if attempt == 0 and cursor.retry_at is not None and cursor.retry_at > services.clock.now():
        # A nudge's message that arrives after a failed attempt scheduled the chain's retry
        # (both rounds nudged before it failed): the chain carries these changes.
        return {"delivered": 0, "coalesced": True}
    rows = await _batch(store, cursor)
    if not rows:
        if (cursor.retry_at is not None or cursor.in_flight is not None) and cursor.etag:
            cursor.retry_at = cursor.in_flight = None  # nothing left to carry: the chain ends
            await _save(services, cursor)
        return {"delivered": 0}
    changes = [feed.change_view(r) for r in rows]
    body = json.dumps({"org": org_id, "changes": changes}, default=json_default).encode()
    try:
        headers = signed_headers(check_secret(config.webhook_secret), changes[-1]["cursor"], body)
    except InvalidInput:  # stored before secrets had to be whsec_: held until a new one is set
        error: str | None = BAD_SECRET
    else:
        error = await services.webhooks.post(config.webhook_url, body, headers)
    services.metrics.add(metric_names.WEBHOOK_DELIVERIES, outcome="delivered" if error is None else "failed")
    now = services.clock.now()
    cursor.last_attempt_at = now
    delay = backoff_s(attempt)
    if error is None:
        cursor.delivered, cursor.failures, cursor.last_error, cursor.retry_at = int(rows[-1].seq), 0, None, None
        cursor.in_flight = None
    else:
        cursor.failures += 1
        cursor.last_error = error
        cursor.retry_at = now + timedelta(seconds=delay)
        cursor.in_flight = int(rows[-1].seq)
    if not await _save(services, cursor):
        return {"delivered": 0, "raced": True}  # another sender moved on; it carries on from there
    if error is None:
        return {"delivered": len(rows)}
    log.warning("webhook delivery failed (%s); retrying in %ds", error, delay)
    await services.queues.send(WebhookDelivery(org_id, attempt + 1), delay_seconds=delay)
    return {"delivered": 0, "error": error}


async def _batch(store: Store, cursor: WebhookCursor) -> list[FeedChange]:
    """The next batch: the one that failed, exactly, while it is unacknowledged; else up to
    BATCH changes after the cursor."""
    upto = cursor.in_flight if cursor.in_flight is not None and cursor.in_flight > cursor.delivered else None
    if upto is None:
        return await feed.read(store, cursor.org, cursor.delivered, BATCH)
    rows = await feed.read(store, cursor.org, cursor.delivered, min(BATCH, upto - cursor.delivered))
    return [r for r in rows if int(r.seq) <= upto]


async def _save(services: Services, cursor: WebhookCursor) -> bool:
    """Write the cursor conditionally; False when another sender wrote it first."""
    try:
        await (services.store.update(cursor) if cursor.etag else services.store.insert(cursor))
    except ConcurrencyConflict:
        return False
    return True
