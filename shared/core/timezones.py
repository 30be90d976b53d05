"""Time zones by IANA or Windows name (Graph and Outlook use both)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tzlocal.windows_tz import tz_win, win_tz

from shared.core.errors import UnknownTimeZone

__all__ = ["UnknownTimeZone", "graph_instant", "to_utc", "windows_name", "zone"]


@lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo:
    """ZoneInfo for an IANA ('Europe/Oslo') or Windows ('W. Europe Standard Time') name."""
    if not name or not name.strip():
        raise UnknownTimeZone("empty time zone")
    name = name.strip()
    if name.upper() in ("UTC", "GMT", "Z", "COORDINATED UNIVERSAL TIME"):
        return ZoneInfo("UTC")
    iana = win_tz.get(name, name)
    try:
        return ZoneInfo(iana)
    except (ZoneInfoNotFoundError, ValueError):
        raise UnknownTimeZone(f"{name!r} is neither an IANA nor a Windows time zone name") from None


def windows_name(name: str) -> str:
    """The Windows name Graph prefers for a zone given by either kind of name."""
    if name in win_tz:
        return name
    key = zone(name).key
    return "UTC" if key in ("UTC", "Etc/UTC") else tz_win.get(key, key)


def graph_instant(value: Any) -> datetime | None:
    """Graph's dateTimeTimeZone (`{"dateTime": "2026-12-04T08:00:00.0000000", "timeZone":
    "UTC"}`, seven fractional digits, the zone by either kind of name) → aware UTC; None when
    it holds no time."""
    if not isinstance(value, dict) or not value.get("dateTime"):
        return None
    text = re.sub(r"(\.\d{6})\d+", r"\1", str(value["dateTime"]).rstrip("Z"))
    return to_utc(datetime.fromisoformat(text), str(value.get("timeZone") or "UTC"))


def to_utc(local: datetime, tz_name: str) -> datetime:
    """A naive wall-clock time in `tz_name` → aware UTC."""
    if local.tzinfo is not None:
        return local.astimezone(UTC)
    return local.replace(tzinfo=zone(tz_name)).astimezone(UTC)
