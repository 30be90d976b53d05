"""The one clock: UTC, timezone-aware. Use cases take a `Clock` (shared.service.ports) so
tests can move time; `utcnow` is the system clock's reading for record defaults."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


class SystemClock:
    def now(self) -> datetime:
        return utcnow()


def rfc3339(value: datetime) -> str:
    """`2026-11-27T19:20:31.839123Z`: how every answer and webhook writes a time (UTC)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def json_default(value: object) -> object:
    """For json.dumps: times in RFC 3339 with a `T`, anything else as text."""
    return rfc3339(value) if isinstance(value, datetime) else str(value)
