"""Whether a link is still watched by a live subscription, and watching it again.

Reconcile checks every link's subscription: for free when it has none or it expired (the
link says so), and with a read of our subscription record whether that record still counts
the link among its watchers — a guard against a rare race (two links of one mailbox
joining or leaving at once) whose harm is latency, not data: an unwatched mailbox still
has its delta read by every reconcile pass, only notifications no longer start its rounds.
That read is one table call per link per pass — a fifth of an idle pass's cost — so it is
made on one pass in CHECK_PASSES, spread evenly over the links (hourly at the 15-minute
reconcile), and in the batches of rounds (shared.service.reconcile_rounds), which scale out
with them, instead of in the org's fan-out.
"""

from __future__ import annotations

import zlib
from datetime import datetime

from shared.adapters.messages import MailboxSync
from shared.adapters.records import MailboxLink, Org, SubscriptionRecord
from shared.service.links import save_link_fields
from shared.service.ports import Services
from shared.service.subscriptions import leave, subscribe

CHECK_PASSES = 4
SLOT_SECONDS = 15 * 60  # the default reconcile period: a pass's slot


def record_check_due(link: MailboxLink, now: datetime) -> bool:
    """Whether this pass reads the link's subscription record: on one 15-minute slot in
    CHECK_PASSES, which slot depending on the link (so each pass reads a quarter of them)."""
    slot = int(now.timestamp() // SLOT_SECONDS)
    spread = zlib.crc32(f"{link.org}|{link.KIND}|{link.owner_id}".encode())
    return (spread + slot) % CHECK_PASSES == 0


def expired(link: MailboxLink, now: datetime) -> bool:
    """No subscription, or one past its expiry: known without a read."""
    return not link.subscription_id or (link.subscription_expires_at is not None and link.subscription_expires_at < now)


async def still_watched(services: Services, link: MailboxLink, now: datetime, *, read_record: bool) -> bool:
    """Whether the link's subscription is live and (when `read_record`) still counts the
    link among its watchers (another org's unlinking must not leave it without one)."""
    if link.mode != "push":
        return True
    if expired(link, now):
        return False
    if not read_record:
        return True
    record = await services.store.get(SubscriptionRecord, subscription_id=link.subscription_id)
    return record is not None and (link.org, link.KIND, link.owner_id) in record.watching()


async def save_subscription(services: Services, link: MailboxLink) -> None:
    await save_link_fields(
        services,
        link,
        status=link.status,
        mode=link.mode,
        error_code=link.error_code,
        error_message=link.error_message,
        subscription_id=link.subscription_id,
        subscription_expires_at=link.subscription_expires_at,
        subscribe_attempts=link.subscribe_attempts,
        updated_at=services.clock.now(),
    )


async def recreate(services: Services, org: Org, link: MailboxLink) -> None:
    """Watch the link's mailbox again (joining another link's subscription when there is
    one, else a new one), then a delta round to catch up on what was missed."""
    await leave(services, link)
    await subscribe(services, org, link)
    await save_subscription(services, link)
    if link.status == "linked":
        await services.queues.send(MailboxSync(org.org, link.KIND, link.owner_id, reason="catch-up"))
