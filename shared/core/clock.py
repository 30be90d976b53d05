"""The one clock: UTC, timezone-aware. Use cases take a `Clock` (shared.service.ports) so
tests can move time; `utcnow` is the system clock's reading for record defaults."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


class SystemClock:
    def now(self) -> datetime:
        return utcnow()
