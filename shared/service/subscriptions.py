"""Graph subscriptions of linked mailboxes: create (the link says why when Graph refuses), release."""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta

from shared.adapters.records import MailboxClaim, MailboxLink, Org, SubscriptionRecord
from shared.core.errors import ConsentRequired, GraphError, GraphRejected
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


async def subscribe(services: Services, org: Org, link: MailboxLink) -> None:
    """Create the events subscription for a linked mailbox; on failure the link says why."""
    settings = services.settings
    base = settings.public_base_url
    for attempt in range(2):
        client_state = secrets.token_urlsafe(32)
        try:
            info = await services.graph.create_subscription(
                org.m365_tenant_id,
                link.m365_user_id or "",
                notification_url=f"{base}/api/graph/notifications",
                lifecycle_url=f"{base}/api/graph/lifecycle",
                client_state=client_state,
                expires_at=services.clock.now() + timedelta(minutes=SUBSCRIPTION_MINUTES),
            )
        except GraphRejected as exc:
            if exc.existing_id and attempt == 0:
                # Ours from an interrupted attempt (we lost its clientState): replace it.
                await services.graph.delete_subscription(org.m365_tenant_id, exc.existing_id)
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
        await services.store.upsert(
            SubscriptionRecord(
                subscription_id=info.id,
                org=org.org,
                tenant_id=org.m365_tenant_id,
                mailbox_id=link.m365_user_id or "",
                owner_kind=link.KIND,
                owner_id=link.owner_id,
                client_state=client_state,
                expires_at=info.expires_at,
            )
        )
        link.subscription_id, link.subscription_expires_at = info.id, info.expires_at
        link.status, link.mode, link.error_code, link.error_message = "linked", "push", None, None
        link.subscribe_attempts = 0
        return


async def release(services: Services, org: Org, link: MailboxLink) -> None:
    """Drop the subscription and the mailbox claim; the link keeps its identity."""
    if link.subscription_id:
        try:
            await services.graph.delete_subscription(org.m365_tenant_id, link.subscription_id)
        except GraphError as exc:
            # Left at Graph; the reconcile timer deletes subscriptions we no longer know.
            log.warning("could not delete subscription %s: %s", link.subscription_id, exc.code)
        await services.store.delete_key(SubscriptionRecord, subscription_id=link.subscription_id)
        forget(link.subscription_id)  # this process stops accepting its notifications now
    if link.m365_user_id:
        held = await services.store.get(MailboxClaim, org=org.org, user_id=link.m365_user_id)
        if held is not None and (held.owner_kind, held.owner_id) == (link.KIND, link.owner_id):
            await services.store.delete(held)
    link.m365_user_id = link.subscription_id = link.subscription_expires_at = None
    link.mode = "push"
