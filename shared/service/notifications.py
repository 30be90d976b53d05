"""Graph's change and lifecycle notifications: check them, queue the work, answer fast.

No Graph call happens here and nothing slow: each item's subscription is looked up in our
table (cached briefly), its clientState compared in constant time and its tenant checked;
good items become one queue message per mailbox (duplicates in one delivery coalesced).
Bad items are ignored and counted.

Nothing is written here: the messages go back to the function, which hands them to its
queue output binding, so the Functions host writes them — after the function returns and
before it answers, failing the request (5xx, Graph delivers again) if it cannot. The
worker's CPU per acknowledgement is then parsing and checking, no storage call. Coalescing
happens where the messages are read (shared.service.mailbox_rounds): a message whose
notification came before a round of its mailbox began is covered by that round.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from shared.adapters.messages import MailboxSync, QueueMessage, SubscriptionLifecycle
from shared.adapters.records import SubscriptionRecord
from shared.core import metric_names
from shared.core.errors import InvalidInput
from shared.core.validation import load_json
from shared.service.ports import Services

log = logging.getLogger("calsync.notifications")

CACHE_SECONDS = 60.0
CACHE_SIZE = 20_000  # subscriptions remembered per process (least recently used dropped)
_cache: OrderedDict[str, tuple[float, SubscriptionRecord | None]] = OrderedDict()


@dataclass(frozen=True)
class Receipt:
    accepted: int
    ignored: int
    work: list[QueueMessage] = field(default_factory=list)  # for the output bindings to write

    @property
    def messages(self) -> int:
        return len(self.work)


def parse(raw: bytes) -> list[dict[str, Any]]:
    body = load_json(raw or b"null", "a change notification collection")
    items = body.get("value") if isinstance(body, dict) else None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise InvalidInput("body", "a change notification collection has a 'value' array of notifications")
    return items


async def _record(services: Services, subscription_id: str) -> SubscriptionRecord | None:
    now = time.monotonic()
    hit = _cache.get(subscription_id)
    if hit is not None and hit[0] > now:
        _cache.move_to_end(subscription_id)
        return hit[1]
    record = await services.store.get(SubscriptionRecord, subscription_id=subscription_id)
    _cache[subscription_id] = (now + CACHE_SECONDS, record)
    _cache.move_to_end(subscription_id)
    while len(_cache) > CACHE_SIZE:
        _cache.popitem(last=False)
    return record


def forget(subscription_id: str) -> None:
    """A subscription we dropped or replaced: stop accepting its notifications here now."""
    _cache.pop(subscription_id, None)


async def receive(services: Services, raw: bytes, *, lifecycle: bool) -> Receipt:
    items = parse(raw)
    received = services.clock.now()
    work: dict[tuple[str, str, str], MailboxSync] = {}
    events: list[SubscriptionLifecycle] = []
    ignored = 0
    for item in items:
        sub_id = item.get("subscriptionId")
        record = await _record(services, sub_id) if isinstance(sub_id, str) and sub_id else None
        state = item.get("clientState")
        if (
            record is None
            or not isinstance(state, str)
            or not hmac.compare_digest(state.encode(), record.client_state.encode())
            or str(item.get("tenantId", "")).lower() != record.tenant_id.lower()
        ):
            ignored += 1
            continue
        event = item.get("lifecycleEvent")
        if lifecycle and event and event != "missed":
            events.append(
                SubscriptionLifecycle(record.org, record.owner_kind, record.owner_id, record.subscription_id, event)
            )
            continue
        for org, kind, owner in record.watching():  # a round for every link that watches the mailbox
            work.setdefault(
                (org, kind, owner), MailboxSync(org, kind, owner, reason=event or "notification", at=received)
            )
    kind = "lifecycle" if lifecycle else "change"
    services.metrics.add(metric_names.NOTIFICATIONS, len(items) - ignored, kind=kind, outcome="accepted")
    services.metrics.add(metric_names.NOTIFICATIONS, ignored, kind=kind, outcome="ignored")
    if ignored:
        log.warning(
            "ignored %d of %d notification(s): unknown subscription, wrong clientState or tenant", ignored, len(items)
        )
    return Receipt(len(items) - ignored, ignored, [*work.values(), *events])
