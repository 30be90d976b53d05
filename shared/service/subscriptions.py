"""Graph subscriptions of linked mailboxes: one per (tenant, mailbox), shared by every link
that watches the mailbox — orgs on the same tenant included, since Graph refuses a second
subscription of one app for the same resource (409). A link joins the subscription another
link holds, or creates it; releasing a link keeps the subscription while others watch."""

from __future__ import annotations

import asyncio
import logging
import secrets
from datetime import datetime, timedelta

from shared.adapters.records import MailboxClaim, MailboxLink, MailboxSubscription, Org, SubscriptionRecord
from shared.core.errors import ConcurrencyConflict, ConsentRequired, GraphError, GraphRejected
from shared.service.notifications import forget
from shared.service.ports import Services

log = logging.getLogger("calsync.links")

# Graph's maximum for events is 4,230 minutes; stay a little under it.
SUBSCRIPTION_MINUTES = 4200


# Errors reconcile retries (with backoff): a cold start that missed the 10-second
# validation deadline, Graph unavailable, or a policy an admin may fix.
RETRIED = ("subscription_failed", "graph_unavailable", "mailbox_not_accessible")
RETRY_FIRST = timedelta(minutes=15)
RETRY_MAX = timedelta(hours=24)


def retry_due(link: MailboxLink, now: datetime) -> bool:
    """Whether reconcile should try this failed subscription again: 15 minutes after the
    first failure, doubling up to a day."""
    if link.status != "error" or link.error_code not in RETRIED or not link.m365_user_id:
        return False
    wait = min(RETRY_MAX, RETRY_FIRST * 2 ** max(link.subscribe_attempts - 1, 0))
    return link.updated_at + wait <= now


def watcher(link: MailboxLink) -> dict[str, str]:
    return {"org": link.org, "kind": link.KIND, "owner": link.owner_id}


async def _current(services: Services, tenant_id: str, mailbox_id: str) -> SubscriptionRecord | None:
    """The live subscription some link of ours holds for this mailbox, if any."""
    index = await services.store.get(MailboxSubscription, tenant_id=tenant_id, mailbox_id=mailbox_id)
    if index is None:
        return None
    record = await services.store.get(SubscriptionRecord, subscription_id=index.subscription_id)
    if record is None or record.expires_at <= services.clock.now():
        return None
    return record


async def _join(services: Services, record: SubscriptionRecord, link: MailboxLink) -> bool:
    """Add the link to the subscription's watchers; False when the record changed meanwhile."""
    me = watcher(link)
    watchers = [dict(org=o, kind=k, owner=w) for o, k, w in record.watching()]
    if me not in watchers:
        record.watchers = [*watchers, me]
        try:
            await services.store.update(record)
        except ConcurrencyConflict:
            return False
        forget(record.subscription_id)  # this process's notifications reach the new watcher at once
    link.subscription_id, link.subscription_expires_at = record.subscription_id, record.expires_at
    link.status, link.mode, link.error_code, link.error_message = "linked", "push", None, None
    link.subscribe_attempts = 0
    return True


async def subscribe(services: Services, org: Org, link: MailboxLink) -> None:
    """Watch the link's mailbox: join the subscription we hold for it, or create one. On
    failure the link says why."""
    settings = services.settings
    base = settings.public_base_url
    tenant, mailbox = org.m365_tenant_id, link.m365_user_id or ""
    for attempt in range(3):
        existing = await _current(services, tenant, mailbox)
        if existing is not None:
            if await _join(services, existing, link):
                return
            continue  # another link joined or left at the same moment: read again
        client_state = secrets.token_urlsafe(32)
        try:
            info = await services.graph.create_subscription(
                tenant,
                mailbox,
                notification_url=f"{base}/api/graph/notifications",
                lifecycle_url=f"{base}/api/graph/lifecycle",
                client_state=client_state,
                expires_at=services.clock.now() + timedelta(minutes=SUBSCRIPTION_MINUTES),
            )
        except GraphRejected as exc:
            if exc.existing_id and attempt < 2:
                record = await _record_of(services, exc.existing_id)
                if record is not None:  # ours, made by a link that raced us: share it
                    await _index(services, record)
                    continue
                # Ours from an interrupted attempt (we lost its clientState): replace it.
                try:
                    await services.graph.delete_subscription(tenant, exc.existing_id)
                except GraphError as failed:  # the link says so; reconcile retries it
                    link.subscribe_attempts += 1
                    code = "graph_unavailable" if failed.code == "graph_unavailable" else "subscription_failed"
                    link.fail(code, failed.message)
                    return
                continue
            link.subscribe_attempts += 1
            if exc.mailbox_policy:
                # An application access policy excludes the mailbox, or it is on-premises:
                # its delta reads are refused too, so polling would not help.
                link.fail(
                    "mailbox_not_accessible",
                    "Exchange Online refuses this app access to the mailbox's calendar (an application "
                    f"access policy excludes it, or it is an on-premises mailbox): {exc.message}",
                )
                return
            link.fail("subscription_failed", exc.message)
            return
        except ConsentRequired as exc:
            link.fail("consent_required", exc.message)
            return
        except GraphError as exc:
            link.subscribe_attempts += 1
            link.fail("graph_unavailable" if exc.code == "graph_unavailable" else "subscription_failed", exc.message)
            return
        record = SubscriptionRecord(
            subscription_id=info.id,
            org=org.org,
            tenant_id=tenant,
            mailbox_id=mailbox,
            owner_kind=link.KIND,
            owner_id=link.owner_id,
            client_state=client_state,
            expires_at=info.expires_at,
            watchers=[watcher(link)],
        )
        await services.store.upsert(record)
        await _index(services, record)
        await _join(services, record, link)
        return
    link.subscribe_attempts += 1
    link.fail("subscription_failed", "the mailbox's subscription kept changing while it was joined; try again")


async def _record_of(services: Services, subscription_id: str, wait_s: float = 3.0) -> SubscriptionRecord | None:
    """Our record of a subscription Graph says exists; a concurrent create of ours may still
    be writing it, so it is given a moment."""
    deadline = asyncio.get_running_loop().time() + wait_s
    while True:
        record = await services.store.get(SubscriptionRecord, subscription_id=subscription_id)
        if record is not None or asyncio.get_running_loop().time() >= deadline:
            return record
        await asyncio.sleep(0.2)


async def _index(services: Services, record: SubscriptionRecord) -> None:
    await services.store.upsert(
        MailboxSubscription(
            tenant_id=record.tenant_id, mailbox_id=record.mailbox_id, subscription_id=record.subscription_id
        )
    )


async def drop_subscription(services: Services, record: SubscriptionRecord, *, at_graph: bool = True) -> None:
    """Forget a subscription (and delete it at Graph): nobody watches through it any more."""
    if at_graph:
        try:
            await services.graph.delete_subscription(record.tenant_id, record.subscription_id)
        except GraphError as exc:
            # Left at Graph; the reconcile timer deletes subscriptions we no longer know.
            log.warning("could not delete subscription %s: %s", record.subscription_id, exc.code)
    await services.store.delete_key(SubscriptionRecord, subscription_id=record.subscription_id)
    index = await services.store.get(MailboxSubscription, tenant_id=record.tenant_id, mailbox_id=record.mailbox_id)
    if index is not None and index.subscription_id == record.subscription_id:
        await services.store.delete(index)
    forget(record.subscription_id)  # this process stops accepting its notifications now


async def leave(services: Services, link: MailboxLink, *, at_graph: bool = True) -> None:
    """The link stops watching through its subscription; the last watcher's leaving deletes it."""
    subscription_id = link.subscription_id
    link.subscription_id = link.subscription_expires_at = None
    if not subscription_id:
        return
    me = (link.org, link.KIND, link.owner_id)
    for _ in range(5):
        record = await services.store.get(SubscriptionRecord, subscription_id=subscription_id)
        if record is None:
            forget(subscription_id)
            return
        others = [w for w in record.watching() if w != me]
        if not others:
            await drop_subscription(services, record, at_graph=at_graph)
            return
        record.watchers = [dict(org=o, kind=k, owner=w) for o, k, w in others]
        try:
            await services.store.update(record)
            forget(subscription_id)
            return
        except ConcurrencyConflict:
            continue


async def release(services: Services, org: Org, link: MailboxLink) -> None:
    """Stop watching the mailbox and drop the mailbox claim; the link keeps its identity."""
    await leave(services, link)
    if link.m365_user_id:
        held = await services.store.get(MailboxClaim, org=org.org, user_id=link.m365_user_id)
        if held is not None and (held.owner_kind, held.owner_id) == (link.KIND, link.owner_id):
            await services.store.delete(held)
    link.m365_user_id = link.subscription_id = link.subscription_expires_at = None
    link.mode = "push"
