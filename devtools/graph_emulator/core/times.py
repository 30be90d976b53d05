"""dateTimeTimeZone and UTC times as Graph writes and reads them."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from devtools.graph_emulator.core.errors import GraphError
from shared.core.timezones import UnknownTimeZone, zone


def fmt(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond * 10:07d}"


def fmt_utc(dt: datetime) -> str:
    return fmt(dt.astimezone(UTC)) + "Z"


def parse_dt(value: dict[str, Any] | None, name: str) -> tuple[datetime, str]:
    """A dateTimeTimeZone → (aware UTC, zone name as given)."""
    if not isinstance(value, dict) or not value.get("dateTime"):
        raise GraphError(400, "ErrorInvalidRequest", f"The {name} property is required and must be a dateTimeTimeZone.")
    tz_name = value.get("timeZone") or "UTC"
    try:
        tz = zone(tz_name)
    except UnknownTimeZone:
        raise GraphError(
            400,
            "TimeZoneNotSupportedException",
            f"A valid TimeZone value must be specified. The following TimeZone value is not supported: '{tz_name}'.",
        ) from None
    text = str(value["dateTime"]).rstrip("Z")
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)  # Graph sends 7 fractional digits
    try:
        local = datetime.fromisoformat(text)
    except ValueError:
        raise GraphError(400, "ErrorInvalidRequest", f"Cannot convert the literal '{value['dateTime']}'.") from None
    if local.tzinfo is not None:
        return local.astimezone(UTC), tz_name
    return local.replace(tzinfo=tz).astimezone(UTC), tz_name


def in_zone(dt: datetime, tz_name: str) -> datetime:
    return dt.astimezone(zone(tz_name)).replace(tzinfo=None)
