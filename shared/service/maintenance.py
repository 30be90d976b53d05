"""Keeping links alive: renewal, lifecycle events, reconciliation, orphan subscriptions.

Timers only decide what is due and enqueue one message per subscription or org; queue
workers do the Graph work, so Azure scales it out. An org's reconcile message fans out to
one delta round per linked mailbox — for an idle mailbox that round is a single request.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import timedelta

from shared.adapters.messages import MailboxSync, OrgReconcile, QueueMessage, RenewSubscription, SubscriptionLifecycle
from shared.adapters.records import LINK_CLASSES, MailboxLink, Org, SubscriptionRecord
from shared.core.errors import ConsentRequired, GraphError, GraphNotFound, GraphRejected, GraphUnavailable
from shared.core.logcontext import log_context
from shared.service.links import load_link, save_link_fields
from shared.service.notifications import forget
from shared.service.ports import Services
from shared.service.subscriptions import SUBSCRIPTION_MINUTES, retry_due, subscribe

log = logging.getLogger("calsync.maintenance")

SEND_CONCURRENCY = 32


async def _send_all(services: Services, messages: Sequence[QueueMessage]) -> None:
    gate = asyncio.Semaphore(SEND_CONCURRENCY)

    async def one(message: QueueMessage) -> None:
        async with gate:
            await services.queues.send(message)

    await asyncio.gather(*(one(m) for m in messages))


# -- timers: decide and enqueue ---------------------------------------------------------------
async def enqueue_renewals(services: Services, horizon: timedelta | None = None) -> int:
    """Every subscription with less than `horizon` (default: the setting) left gets a renewal message."""
    due = services.clock.now() + (horizon or services.settings.renew_horizon)
    messages = [
        RenewSubscription(r.subscription_id)
        async for r in services.store.query(SubscriptionRecord, filter="expires_at lt @due", parameters={"due": due})
    ]
    await _send_all(services, messages)
    return len(messages)


async def enqueue_reconcile(services: Services) -> int:
    """One message per org; the org's worker fans out per mailbox."""
    messages = [OrgReconcile(org.org) async for org in services.store.query(Org)]
    await _send_all(services, messages)
    return len(messages)


# -- queue workers ------------------------------------------------------------------------------
async def _link_of(services: Services, record: SubscriptionRecord) -> tuple[Org | None, MailboxLink | None]:
    org = await services.store.get(Org, org=record.org)
    link = await load_link(services, record.org, record.owner_kind, record.owner_id)
    return org, link


async def _drop_record(services: Services, subscription_id: str) -> None:
    await services.store.delete_key(SubscriptionRecord, subscription_id=subscription_id)
    forget(subscription_id)


async def recreate(services: Services, org: Org, link: MailboxLink) -> None:
    """A new subscription for a linked mailbox, then a delta round to catch up on what the
    old one missed."""
    if link.subscription_id:
        await _drop_record(services, link.subscription_id)
    link.subscription_id = link.subscription_expires_at = None
    await subscribe(services, org, link)
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
    if link.status == "linked":
        await services.queues.send(MailboxSync(org.org, link.KIND, link.owner_id, reason="catch-up"))


async def renew(services: Services, subscription_id: str, *, final: bool) -> None:
    record = await services.store.get(SubscriptionRecord, subscription_id=subscription_id)
    if record is None:
        return
    org, link = await _link_of(services, record)
    with log_context(org=record.org, mailbox=link.account if link else None, operation="renew_subscription"):
        if org is None or link is None or link.subscription_id != subscription_id:
            # No longer ours to keep: remove it at Graph and here.
            if org is not None:
                try:
                    await services.graph.delete_subscription(org.m365_tenant_id, subscription_id)
                except GraphError as exc:
                    log.warning("could not delete stale subscription: %s", exc.code)
            await _drop_record(services, subscription_id)
            return
        try:
            expires = await services.graph.renew_subscription(
                org.m365_tenant_id, subscription_id, services.clock.now() + timedelta(minutes=SUBSCRIPTION_MINUTES)
            )
        except GraphNotFound:
            log.warning("Graph no longer knows the subscription; recreating it")
            await recreate(services, org, link)
            return
        except GraphError as exc:
            if isinstance(exc, GraphUnavailable) and not final:
                raise  # retried by the queue with backoff
            await save_link_fields(
                services, link, status="error", error_code="subscription_renewal_failed", error_message=exc.message
            )
            return
        record.expires_at = expires
        await services.store.upsert(record)
        await save_link_fields(services, link, subscription_expires_at=expires)


async def lifecycle(services: Services, message: SubscriptionLifecycle, *, final: bool) -> None:
    record = await services.store.get(SubscriptionRecord, subscription_id=message.subscription_id)
    if record is None:
        return
    org, link = await _link_of(services, record)
    if org is None or link is None or link.status != "linked":
        return
    event = message.lifecycle_event
    with log_context(org=org.org, mailbox=link.account, operation=f"lifecycle_{event}"):
        if event == "subscriptionRemoved":
            await recreate(services, org, link)
        elif event == "reauthorizationRequired":
            try:
                await services.graph.reauthorize_subscription(org.m365_tenant_id, record.subscription_id)
            except GraphNotFound:
                await recreate(services, org, link)
                return
            except GraphUnavailable:
                if not final:
                    raise
            except (ConsentRequired, GraphRejected) as exc:
                if isinstance(exc, GraphRejected) and exc.graph_status != 403:
                    raise
                # The tenant withdrew consent (or the app lost the permission): no retry
                # helps until an admin consents again; the link says so.
                await save_link_fields(
                    services, link, status="error", error_code="consent_revoked", error_message=exc.message
                )
                return
            # Notifications may have paused until now: catch up.
            await services.queues.send(MailboxSync(org.org, link.KIND, link.owner_id, reason="reauthorized"))


async def reconcile_org(services: Services, org_id: str) -> dict[str, int]:
    """A delta round for every linked mailbox, missing subscriptions recreated, orphans deleted."""
    org = await services.store.get(Org, org=org_id)
    if org is None:
        return {}
    links: list[MailboxLink] = []
    for cls in LINK_CLASSES.values():
        links += [
            link
            async for link in services.store.query(cls, org=org_id, filter="status eq @s", parameters={"s": "linked"})
        ]
    now = services.clock.now()
    recreated = 0
    with log_context(org=org_id, operation="reconcile"):
        for link in links:
            expired = link.subscription_expires_at is not None and link.subscription_expires_at < now
            if link.mode == "push" and (not link.subscription_id or expired):
                await recreate(services, org, link)
                recreated += 1
        for cls in LINK_CLASSES.values():  # links whose subscription failed: again, with backoff
            async for failed in services.store.query(cls, org=org_id, filter="status eq @s", parameters={"s": "error"}):
                if retry_due(failed, now):
                    await recreate(services, org, failed)
                    recreated += 1
        await _send_all(services, [MailboxSync(org_id, link.KIND, link.owner_id, reason="reconcile") for link in links])
        orphans = await delete_orphans(services, org, {link.subscription_id for link in links if link.subscription_id})
    return {"mailboxes": len(links), "recreated": recreated, "orphansDeleted": orphans}


async def delete_orphans(services: Services, org: Org, known: set[str | None]) -> int:
    """Our subscriptions at Graph (same notification URL) that no link of ours holds."""
    ours = f"{services.settings.public_base_url}/api/graph/notifications"
    try:
        subscriptions = await services.graph.list_subscriptions(org.m365_tenant_id)
    except GraphError as exc:
        log.warning("could not list subscriptions: %s", exc.code)
        return 0
    orphans = []
    for sub in subscriptions:
        if sub.get("notificationUrl") != ours or sub["id"] in known:
            continue
        if await services.store.get(SubscriptionRecord, subscription_id=sub["id"]) is not None:
            continue  # another org of ours on the same tenant holds it
        orphans.append(sub["id"])
    for subscription_id in orphans:
        try:
            await services.graph.delete_subscription(org.m365_tenant_id, subscription_id)
        except GraphError as exc:
            log.warning("could not delete orphan subscription: %s", exc.code)
        await _drop_record(services, subscription_id)
    return len(orphans)
