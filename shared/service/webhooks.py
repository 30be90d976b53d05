"""Delivering the change feed to the booking product's webhook, signed.

`Calsync-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the org's
webhookSecret>`. Batches of up to 100 changes in feed order. A failing receiver is retried
with backoff (up to an hour apart) and never loses a change: the cursor only moves on a
2xx, and the feed keeps everything.

Each org has at most one retry chain: the cursor records when its next retry is due, and
while one is due a round with new changes enqueues nothing (the retry carries them); of
two senders that fail at once only the one whose cursor write wins schedules the retry.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from datetime import timedelta
from typing import Any

from shared.adapters.inbound_records import FeedCounter, WebhookCursor
from shared.adapters.messages import WebhookDelivery
from shared.adapters.records import Org
from shared.core.clock import json_default
from shared.core.errors import ConcurrencyConflict
from shared.service import feed
from shared.service.ports import Services

log = logging.getLogger("calsync.webhooks")

BATCH = 100
MAX_DELAY_S = 3600
# A retry this late is taken for lost (its message never came): the next round starts anew.
CHAIN_GRACE = timedelta(minutes=5)


def sign(secret: str, body: bytes, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret: str, body: bytes, header: str, tolerance_s: int = 300, now: float | None = None) -> bool:
    """What a receiver does (documented for the booking product; used by our tests)."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((now or time.time()) - timestamp) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, body, timestamp), f"t={timestamp},v1={parts.get('v1', '')}")


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
            if result.get("error") or result.get("raced"):
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
    rows = await feed.read(store, org_id, cursor.delivered, BATCH)
    if not rows:
        if cursor.retry_at is not None and cursor.etag:
            cursor.retry_at = None  # nothing left to carry: the chain ends
            await _save(services, cursor)
        return {"delivered": 0}
    changes = [feed.change_view(r) for r in rows]
    body = json.dumps({"org": org_id, "changes": changes}, default=json_default).encode()
    headers = {
        "Content-Type": "application/json",
        "Calsync-Signature": sign(config.webhook_secret, body, int(time.time())),
    }
    error = await services.webhooks.post(config.webhook_url, body, headers)
    now = services.clock.now()
    cursor.last_attempt_at = now
    delay = backoff_s(attempt)
    if error is None:
        cursor.delivered, cursor.failures, cursor.last_error, cursor.retry_at = int(rows[-1].seq), 0, None, None
    else:
        cursor.failures += 1
        cursor.last_error = error
        cursor.retry_at = now + timedelta(seconds=delay)
    if not await _save(services, cursor):
        return {"delivered": 0, "raced": True}  # another sender moved on; it carries on from there
    if error is None:
        return {"delivered": len(rows)}
    log.warning("webhook delivery failed (%s); retrying in %ds", error, delay)
    await services.queues.send(WebhookDelivery(org_id, attempt + 1), delay_seconds=delay)
    return {"delivered": 0, "error": error}


async def _save(services: Services, cursor: WebhookCursor) -> bool:
    """Write the cursor conditionally; False when another sender wrote it first."""
    try:
        await (services.store.update(cursor) if cursor.etag else services.store.insert(cursor))
    except ConcurrencyConflict:
        return False
    return True
