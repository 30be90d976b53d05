"""A mailbox's working hours (mailboxSettings.workingHours, workinghours.md): as seeded, checked,
and as Graph answers them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from devtools.graph_emulator.directory.models import User
from shared.core.timezones import zone

WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday"]
ALL_DAYS = {"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"}


def working_hours(user: User) -> dict[str, Any]:
    """The user's mailboxSettings workingHours (workinghours.md); seeded, else Mon–Fri
    08:00–17:00 in the user's time zone (the docs' examples; the default is the emulator's)."""
    given = user.working_hours or {}
    return {
        "daysOfWeek": list(given.get("daysOfWeek") or WEEKDAYS),
        "startTime": _time_of_day(given.get("startTime") or "08:00"),
        "endTime": _time_of_day(given.get("endTime") or "17:00"),
        "timeZone": {"name": given.get("timeZone") or user.time_zone},
    }


def check_working_hours(value: Any) -> dict[str, Any]:
    """A seed's `workingHours` ({daysOfWeek, startTime "HH:MM[:SS]", endTime, timeZone}), checked."""
    if not isinstance(value, dict) or set(value) - {"daysOfWeek", "startTime", "endTime", "timeZone"}:
        raise ValueError("workingHours must be {daysOfWeek, startTime, endTime, timeZone}")
    days = value.get("daysOfWeek", WEEKDAYS)
    if not isinstance(days, list) or not set(days) <= ALL_DAYS:
        raise ValueError(f"workingHours.daysOfWeek: {days!r} is not a list of day names")
    for key in ("startTime", "endTime"):
        if key in value:
            _time_of_day(value[key])
    if value.get("timeZone"):
        zone(value["timeZone"])  # UnknownTimeZone (a ValueError) for a name nobody knows
    return dict(value)


def _time_of_day(value: Any) -> str:
    """Edm.TimeOfDay as Graph writes it: `08:00:00.0000000`."""
    try:
        parsed = datetime.strptime(str(value)[:8], "%H:%M:%S" if len(str(value)) >= 8 else "%H:%M")
    except ValueError:
        raise ValueError(f"{value!r} is not a time of day (HH:MM or HH:MM:SS)") from None
    return parsed.strftime("%H:%M:%S") + ".0000000"
