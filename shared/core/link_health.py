"""How a worker's or resource's link is doing, from what its record says."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

STALE_AFTER = timedelta(minutes=30)  # two reconcile periods
LINK_STATUSES = ("linked", "error", "unlinked")
HEALTH_RANK = {"error": 0, "attention": 1, "stale": 2}  # worst first


class LinkState(Protocol):
    status: str
    attention: str | None
    subscription_expires_at: datetime | None
    last_sync_at: datetime | None


def health(link: LinkState, now: datetime) -> str | None:
    """healthy | stale | attention | error (None for an unlinked link)."""
    if link.status == "unlinked":
        return None
    if link.status == "error":
        return "error"
    if link.attention:
        return "attention"
    if link.subscription_expires_at is not None and link.subscription_expires_at < now:
        return "stale"  # the subscription is past due: notifications have stopped
    if link.last_sync_at is None or now - link.last_sync_at > STALE_AFTER:
        return "stale"
    return "healthy"
