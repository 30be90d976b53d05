"""What the API answers for a worker's or resource's link."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.adapters.records import MailboxLink, ResourceLink, WorkerLink
from shared.core.link_health import health


def _common_view(link: MailboxLink, now: datetime) -> dict[str, Any]:
    return {
        "m365UserId": link.m365_user_id,
        "displayName": link.display_name,
        "status": link.status,
        "error": {"code": link.error_code, "message": link.error_message} if link.status == "error" else None,
        "mode": link.mode if link.status == "linked" else None,
        "subscription": {"id": link.subscription_id, "expiresAt": link.subscription_expires_at}
        if link.subscription_id
        else None,
        "attention": {"reason": link.attention, "heldDeletions": link.held_deletions} if link.attention else None,
        "health": health(link, now),
        "lastSyncAt": link.last_sync_at,
        "lastNotificationAt": link.last_notification_at,
        "updatedAt": link.updated_at,
    }


def worker_view(link: WorkerLink, now: datetime) -> dict[str, Any]:
    return {
        "worker": link.worker,
        "m365Account": link.m365_account,
        "restricted": link.restricted,
        **_common_view(link, now),
    }


def resource_view(link: ResourceLink, now: datetime) -> dict[str, Any]:
    return {
        "resource": link.resource,
        "mailbox": link.mailbox,
        "kind": link.kind,
        "group": link.group,
        "place": link.place,
        "placeReadAt": link.place_read_at,
        **_common_view(link, now),
    }


def link_view(link: MailboxLink, now: datetime) -> dict[str, Any]:
    if isinstance(link, WorkerLink):
        return worker_view(link, now)
    if isinstance(link, ResourceLink):
        return resource_view(link, now)
    raise TypeError(f"not a link: {type(link).__name__}")
