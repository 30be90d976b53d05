"""Keeping links alive: renewal, lifecycle events, reconciliation, orphan subscriptions.

Timers only decide what is due and enqueue one message per subscription or org; queue
workers do the Graph work, so Azure scales it out. An org's reconcile message fans out to
a delta round per linked mailbox, 50 mailboxes to a message (shared.service.reconcile_rounds)
— for an idle mailbox that round is a single request.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from shared.adapters.messages import MailboxSync, OrgReconcile, QueueMessage, RenewSubscription, SubscriptionLifecycle
from shared.adapters.records import LINK_CLASSES, MailboxLink, Org, SubscriptionRecord
from shared.core import metric_names
from shared.core.errors import ConsentRequired, GraphError, GraphNotFound, GraphRejected, GraphUnavailable
from shared.core.link_health import health
from shared.core.logcontext import log_context
from shared.service import reconcile_rounds, task_rounds, webhooks
from shared.service.links import load_link, save_link_fields
from shared.service.ports import Services
from shared.service.subscriptions import SUBSCRIPTION_MINUTES, drop_subscription, retry_due
from shared.service.watch_checks import recreate

log = logging.getLogger("calsync.maintenance")

SEND_CONCURRENCY = 32
# A reconcile batch reads its 50 links and writes their stamps on the org's links partition
# (100 entities): started 5 a second, one org's pass stays near 500 entities/s there, a
# quarter of a partition's 2,000/s target, however many instances drain the queue. An org
# of 20,000 (400 batches) takes 80 s to start them; one of up to 250, no delay at all.
BATCHES_PER_SECOND = 5
# Many orgs' passes at once are the other burst (docs/scale.md: a stamp of 200,000 mailboxes
# in orgs of 100, drained by 40 instances, put twice its storage account's target on it):
# 10 orgs a second is ~1,000 mailboxes a second in orgs of 100, a quarter of the account's
# entities/s; an app with more orgs than fit in 10 minutes starts them faster, so a pass
# still starts within its 15-minute period.
ORGS_PER_SECOND = 10
MAX_SPREAD_S = 600


async def _send_all(services: Services, messages: Sequence[QueueMessage], *, per_second: int | None = None) -> None:
    """Send `messages`; with `per_second`, the i-th becomes visible i // per_second seconds later."""
    gate = asyncio.Semaphore(SEND_CONCURRENCY)

    async def one(index: int, message: QueueMessage) -> None:
        delay = index // per_second if per_second else 0
        async with gate:
            await services.queues.send(message, delay_seconds=delay or None)

    await asyncio.gather(*(one(i, m) for i, m in enumerate(messages)))


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
    """One message per org; the org's worker fans out per mailbox. The orgs start
    ORGS_PER_SECOND a second (more when there are too many for MAX_SPREAD_S)."""
    messages = [OrgReconcile(org.org) async for org in services.store.query(Org)]
    per_second = max(ORGS_PER_SECOND, -(-len(messages) // MAX_SPREAD_S))
    await _send_all(services, messages, per_second=per_second)
    return len(messages)


# -- queue workers ------------------------------------------------------------------------------
async def _watchers(services: Services, record: SubscriptionRecord) -> list[tuple[Org, MailboxLink]]:
    """The links (with their orgs) that still watch through this subscription."""
    found = []
    for org_id, kind, owner in record.watching():
        org = await services.store.get(Org, org=org_id)
        link = await load_link(services, org_id, kind, owner)
        if org is not None and link is not None and link.subscription_id == record.subscription_id:
            found.append((org, link))
    return found


async def _recreate_all(
    services: Services, record: SubscriptionRecord, watchers: list[tuple[Org, MailboxLink]]
) -> None:
    """Graph lost the subscription: forget it, and every watcher subscribes again — the
    first creates a new one, the others join it."""
    await drop_subscription(services, record, at_graph=False)
    for org, link in watchers:
        link.subscription_id = link.subscription_expires_at = None
        await recreate(services, org, link)


async def renew(services: Services, subscription_id: str, *, final: bool) -> None:
    record = await services.store.get(SubscriptionRecord, subscription_id=subscription_id)
    if record is None:
        return
    watchers = await _watchers(services, record)
    with log_context(org=record.org, operation="renew_subscription"):
        if not watchers:
            await drop_subscription(services, record)  # nobody needs it any more
            return
        try:
            expires = await services.graph.renew_subscription(
                record.tenant_id, subscription_id, services.clock.now() + timedelta(minutes=SUBSCRIPTION_MINUTES)
            )
        except GraphNotFound:
            log.warning("Graph no longer knows the subscription; recreating it")
            await _recreate_all(services, record, watchers)
            return
        except GraphError as exc:
            if isinstance(exc, GraphUnavailable) and not final:
                raise  # retried by the queue with backoff
            for _org, link in watchers:
                await save_link_fields(
                    services, link, status="error", error_code="subscription_renewal_failed", error_message=exc.message
                )
            return
        record.expires_at = expires
        await services.store.upsert(record)
        for _org, link in watchers:
            await save_link_fields(services, link, subscription_expires_at=expires)


async def lifecycle(services: Services, message: SubscriptionLifecycle, *, final: bool) -> None:
    record = await services.store.get(SubscriptionRecord, subscription_id=message.subscription_id)
    if record is None:
        return
    watchers = [(org, link) for org, link in await _watchers(services, record) if link.status == "linked"]
    if not watchers:
        return
    event = message.lifecycle_event
    with log_context(org=record.org, operation=f"lifecycle_{event}"):
        if event == "subscriptionRemoved":
            await _recreate_all(services, record, watchers)
            return
        if event != "reauthorizationRequired":
            return
        try:
            await services.graph.reauthorize_subscription(record.tenant_id, record.subscription_id)
        except GraphNotFound:
            await _recreate_all(services, record, watchers)
            return
        except GraphUnavailable:
            if not final:
                raise
        except (ConsentRequired, GraphRejected) as exc:
            if isinstance(exc, GraphRejected) and exc.graph_status != 403:
                raise
            # The tenant withdrew consent (or the app lost the permission): no retry helps
            # until an admin consents again; the links say so.
            for _org, link in watchers:
                await save_link_fields(
                    services, link, status="error", error_code="consent_revoked", error_message=exc.message
                )
            return
        # Notifications may have paused until now: catch up.
        await _send_all(
            services, [MailboxSync(org.org, link.KIND, link.owner_id, reason="reauthorized") for org, link in watchers]
        )


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
        try:
            at_graph: list[dict] | None = await services.graph.list_subscriptions(org.m365_tenant_id)
        except GraphError as exc:
            log.warning("could not list subscriptions: %s", exc.code)
            at_graph = None
        live = {s["id"] for s in at_graph} if at_graph is not None else None
        # Graph dropped a subscription and its lifecycle notification was lost: every link
        # watching through it subscribes again (not only this org's). Before the rounds are
        # sent, so their batches read the links as this left them.
        lost = {link.subscription_id for link in links if live is not None and link.subscription_id}
        lost -= live or set()
        for subscription_id in lost:
            record = await services.store.get(SubscriptionRecord, subscription_id=subscription_id)
            if record is not None:
                await _recreate_all(services, record, await _watchers(services, record))
                recreated += 1
        if lost:  # read again what _recreate_all changed
            links = [await load_link(services, org_id, link.KIND, link.owner_id) or link for link in links]
        # The rounds, 50 links a message; each batch also checks its links' subscriptions
        # (shared.service.watch_checks), so the fan-out reads nothing per link.
        await _send_all(services, reconcile_rounds.batches(org_id, links), per_second=BATCHES_PER_SECOND)
        # To Do has no notifications for us: each task list's delta is read on this timer.
        task_lists = await task_rounds.rounds(services, org)
        await _send_all(services, task_lists)
        failing: list[MailboxLink] = []
        for cls in LINK_CLASSES.values():  # links whose subscription failed: again, with backoff
            async for failed in services.store.query(cls, org=org_id, filter="status eq @s", parameters={"s": "error"}):
                failing.append(failed)
                if retry_due(failed, now):
                    await recreate(services, org, failed)
                    recreated += 1
        _count_health(services, links, failing, now)
        held = {link.subscription_id for link in links if link.subscription_id}
        orphans = await delete_orphans(services, org, held, at_graph) if at_graph is not None else 0
        await webhooks.catch_up(services, org)  # a delivery whose message was lost starts again
    lists = sum(len(batch.lists) for batch in task_lists)
    return {"mailboxes": len(links), "recreated": recreated, "orphansDeleted": orphans, "taskLists": lists}


def _count_health(services: Services, links: list[MailboxLink], failing: list[MailboxLink], now: datetime) -> None:
    """The links metric: each org's pass counts its links by health state (as read at the
    start of the pass: a recreate above shows in the next one)."""
    counts: dict[tuple[str, str], int] = {}
    for link in [*links, *failing]:
        state = health(link, now)
        if state is not None:
            counts[(link.KIND, state)] = counts.get((link.KIND, state), 0) + 1
    for (kind, state), count in counts.items():
        services.metrics.add(metric_names.LINKS, count, kind=kind, state=state)


async def delete_orphans(services: Services, org: Org, known: set[str | None], subscriptions: list[dict]) -> int:
    """Our subscriptions at Graph (same notification URL) that no link of ours holds."""
    ours = f"{services.settings.public_base_url}/api/graph/notifications"
    orphans = []
    for sub in subscriptions:
        if sub.get("notificationUrl") != ours or sub["id"] in known:
            continue
        if await services.store.get(SubscriptionRecord, subscription_id=sub["id"]) is not None:
            continue  # held for another org of ours on the same tenant
        orphans.append(sub["id"])
    for subscription_id in orphans:
        try:
            await services.graph.delete_subscription(org.m365_tenant_id, subscription_id)
        except GraphError as exc:
            log.warning("could not delete orphan subscription: %s", exc.code)
    return len(orphans)
