"""How a worker's or resource's link is doing, from what its record says."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

STALE_AFTER = timedelta(minutes=30)  # two reconcile periods
LINK_STATUSES = ("linked", "error", "unlinked")
HEALTH_RANK = {"error": 0, "attention": 1, "stale": 2}  # worst first ("pending" is not listed)


class LinkState(Protocol):
    status: str
    attention: str | None
    subscription_expires_at: datetime | None
    last_sync_at: datetime | None
    updated_at: datetime


def health(link: LinkState, now: datetime) -> str | None:
    """healthy | pending | stale | attention | error (None for an unlinked link)."""
    if link.status == "unlinked":
        return None
    if link.status == "error":
        return "error"
    if link.attention:
        return "attention"
    if link.subscription_expires_at is not None and link.subscription_expires_at < now:
        return "stale"  # the subscription is past due: notifications have stopped
    if link.last_sync_at is None:
        # Linked a moment ago: its first round has not run yet — not a problem (yet).
        return "pending" if now - link.updated_at <= STALE_AFTER else "stale"
    if now - link.last_sync_at > STALE_AFTER:
        return "stale"
    return "healthy"
