"""Delivering the change feed to the booking product's webhook, signed.

`Calsync-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the org's
webhookSecret>`. Batches of up to 100 changes in feed order. A failing receiver is retried
with backoff (up to an hour apart) and never loses a change: the cursor only moves on a
2xx, and the feed keeps everything.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from typing import Any

import httpx

from shared import feed
from shared.bootstrap import Services
from shared.mailbox_sync import WEBHOOK_QUEUE
from shared.orgs import Org, utcnow
from shared.tables import ConcurrencyConflict

log = logging.getLogger("calsync.webhooks")

BATCH = 100
TIMEOUT_S = 10.0
MAX_DELAY_S = 3600


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
    url, secret = (org.setting("webhookUrl"), org.setting("webhookSecret")) if org else (None, None)
    if not url or not secret:
        return {"delivered": 0}
    cursor = await store.get(feed.WebhookCursor, org=org_id, kind="webhook") or feed.WebhookCursor(org=org_id)
    rows = await feed.read(store, org_id, cursor.delivered, BATCH)
    if not rows:
        return {"delivered": 0}
    body = json.dumps({"org": org_id, "changes": [feed.change_view(r) for r in rows]}, default=str).encode()
    headers = {"Content-Type": "application/json", "Calsync-Signature": sign(secret, body, int(time.time()))}
    error = None
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT_S) as client:
            response = await client.post(url, content=body, headers=headers)
        if not 200 <= response.status_code < 300:
            error = f"HTTP {response.status_code}"
    except httpx.HTTPError as exc:
        error = type(exc).__name__
    cursor.last_attempt_at = utcnow()
    if error is None:
        cursor.delivered, cursor.failures, cursor.last_error = int(rows[-1].seq), 0, None
    else:
        cursor.failures += 1
        cursor.last_error = error
    try:
        await (store.update(cursor) if cursor.etag else store.insert(cursor))
    except ConcurrencyConflict:
        return {"delivered": 0, "raced": True}  # another sender moved on; it carries on from there
    if error is None:
        return {"delivered": len(rows)}
    delay = min(MAX_DELAY_S, 2 * 2**attempt)
    log.warning("webhook delivery failed (%s); retrying in %ds", error, delay)
    await services.queues.send(WEBHOOK_QUEUE, {"org": org_id, "attempt": attempt + 1}, delay_seconds=delay)
    return {"delivered": 0, "error": error}
