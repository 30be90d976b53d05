"""A link's health, from its record (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from shared.core.link_health import health

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@dataclass
class Link:
    status: str = "linked"
    attention: str | None = None
    subscription_expires_at: datetime | None = NOW + timedelta(days=2)
    last_sync_at: datetime | None = NOW - timedelta(minutes=5)
    updated_at: datetime = NOW - timedelta(days=3)


def test_a_link_made_a_moment_ago_is_pending_then_stale_if_no_round_ever_runs() -> None:
    assert health(Link(last_sync_at=None, updated_at=NOW - timedelta(seconds=5)), NOW) == "pending"
    assert health(Link(last_sync_at=None, updated_at=NOW - timedelta(minutes=31)), NOW) == "stale"


def test_healthy_stale_attention_error_and_unlinked() -> None:
    assert health(Link(), NOW) == "healthy"
    assert health(Link(last_sync_at=NOW - timedelta(minutes=31)), NOW) == "stale"
    assert health(Link(subscription_expires_at=NOW - timedelta(minutes=1)), NOW) == "stale"
    assert health(Link(attention="30 deletions held"), NOW) == "attention"
    assert health(Link(status="error"), NOW) == "error"
    assert health(Link(status="unlinked"), NOW) is None
