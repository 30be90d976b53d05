"""Graph subscriptions of linked mailboxes: create (or fall back to polling) and release."""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta

from shared.adapters.records import MailboxClaim, MailboxLink, Org, SubscriptionRecord
from shared.core.errors import ConsentRequired, GraphError, GraphRejected
from shared.service.notifications import forget
from shared.service.ports import Services

log = logging.getLogger("calsync.links")

# Graph's maximum for events is 4,230 minutes; stay a little under it.
SUBSCRIPTION_MINUTES = 4200


async def subscribe(services: Services, org: Org, link: MailboxLink) -> None:
    """Create the events subscription for a linked mailbox (or fall back to polling)."""
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
            if link.KIND == "resource" and exc.mailbox_policy:
                link.status, link.mode, link.error_code, link.error_message = "linked", "polling", None, None
                link.subscription_id = link.subscription_expires_at = None
                return
            link.fail("subscription_failed", exc.message)
            return
        except ConsentRequired as exc:
            link.fail("consent_required", exc.message)
            return
        except GraphError as exc:
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
