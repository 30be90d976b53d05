"""The calendar window a mailbox's delta rounds watch, and what Graph's delta says about it.

calendarView delta keeps the window of its first request in its token, and reports as
`@removed` every event that leaves the window, or that is added or changed outside it
(event-delta.md). So the window is stored with the deltaLink and rolled (a fresh round,
carrying our mappings) well before "now + days ahead" passes its end; and a removal of an
event we know is confirmed before it is reported as a deletion.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

# A fresh window reaches this much further ahead than the setting asks; half of it used
# up (about a week) and the window rolls.
ROLL_SLACK = timedelta(days=14)
MAX_WINDOW_DAYS = 1825  # calendarView answers ErrorInvalidRequest for a longer window


def window(now: datetime, days_back: int, days_ahead: int) -> tuple[datetime, datetime]:
    """The window of a fresh round."""
    return now - timedelta(days=days_back), now + timedelta(days=days_ahead) + ROLL_SLACK


def roll_due(start: datetime | None, end: datetime | None, now: datetime, days_back: int, days_ahead: int) -> bool:
    """Whether the stored window must be replaced by a fresh one: unknown, its end about to
    fall short of now + days_ahead, or its start fallen too far behind now - days_back."""
    if start is None or end is None:
        return True
    half = ROLL_SLACK / 2
    return now + timedelta(days=days_ahead) + half > end or now - timedelta(days=days_back) - half > start


def outside(content: dict[str, Any], start: datetime, end: datetime) -> bool:
    """Whether an event (a normalized snapshot) lies wholly outside [start, end)."""
    try:
        first = _instant(content.get("start") or "")
        last = _instant(content.get("end") or "")
    except ValueError:
        return False  # no usable times: never assume it left
    return last <= start or first >= end


def last_of_each(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One item per event id: the same entity can appear more than once in one delta round
    (concepts/delta-query-overview.md); the last one is the current one."""
    latest: dict[str, dict[str, Any]] = {}
    for item in items:
        latest.pop(item["id"], None)
        latest[item["id"]] = item
    return list(latest.values())


def _instant(value: str) -> datetime:
    text = value if "T" in value else f"{value}T00:00:00Z"
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
