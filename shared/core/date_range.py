"""The dates calsync takes: 1900-01-01 to 2999-12-31, each date-time judged by its own
calendar date (docs/api.md). Far wider than any booking, narrow enough that every
conversion between zones stays inside what Python's datetime holds (year 1 to 9999) and
what Outlook stores (to 4500)."""

from __future__ import annotations

from datetime import date, datetime

from shared.core.errors import InvalidInput

FIRST = date(1900, 1, 1)
LAST = date(2999, 12, 31)
RANGE = f"{FIRST.isoformat()} to {LAST.isoformat()}"


def outside(day: date | datetime) -> bool:
    """Whether a date (or a date-time's own calendar date, whatever its offset) is out of range."""
    return not FIRST <= (day.date() if isinstance(day, datetime) else day) <= LAST


def check(field: str, value: date | datetime) -> None:
    """400 naming `field` for a date or date-time out of range."""
    if outside(value):
        raise InvalidInput(field, f"{field}: {value.isoformat()} is outside the supported dates, {RANGE}")
