"""Room check-in and auto-release (pure): which room bookings are due for release, and what
a booking's recorded state allows.

A booking is one room of one appointment (one occurrence of a series). With `roomCheckIn`
on, a booking nobody checked in to within `releaseAfterMinutes` of its start is released: the
room declines it. Each booking has one record (RoomPresence) whose state moves once, under
optimistic concurrency: none → `checked_in`, or none → `releasing` → `released`. So a check-in
and a release of one booking never both happen, and of two instances releasing at once only
one declines. A `releasing` older than LEASE is a release that died half-way: taken over.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.core.recurrence import expand, parse_recurrence
from shared.core.timezones import to_utc

LOOKBACK = timedelta(minutes=30)  # a booking whose release time passed this long ago is still released
LEASE = timedelta(minutes=5)  # a release not finished after this is taken over
SINGLE = "-"  # the occurrence key of a booking that is not part of a series
SERIES = "series"  # the hold row of a series (its occurrences are expanded when due)
CHECKED_IN, RELEASING, RELEASED = "checked_in", "releasing", "released"


@dataclass(frozen=True)
class Booking:
    appointment: str
    resource: str
    occurrence: str  # the occurrence's original date (YYYY-MM-DD), or SINGLE
    start: datetime  # aware UTC
    end: datetime


def hold_key(start: datetime) -> str:
    """A single booking's hold row sorts by its start (UTC, to the minute)."""
    return start.astimezone(UTC).strftime("%Y%m%dT%H%MZ")


def window(now: datetime, after: timedelta) -> tuple[datetime, datetime]:
    """Bookings starting in [from, until] are due: their grace period is over, recently."""
    until = now - after
    return until - LOOKBACK, until


def hold_of(appt: Any) -> str | None:
    """The hold row key of an appointment that books rooms; None when none is due to be kept
    (no rooms, deleted, not pushed, all day)."""
    if appt.deleted or not appt.push or not appt.resources or appt.is_all_day or not appt.start:
        return None
    if appt.recurrence is not None:
        return SERIES
    return hold_key(to_utc(datetime.fromisoformat(appt.start), appt.time_zone))


def bookings(appt: Any, resources: list[str], start: datetime, until: datetime, now: datetime) -> list[Booking]:
    """The appointment's room bookings starting in [start, until] that have not ended by now,
    as the appointment is now (a moved or cancelled one is not due)."""
    if hold_of(appt) is None:
        return []
    rooms = [r for r in resources if r in appt.resources]
    first = datetime.fromisoformat(appt.start)
    length = datetime.fromisoformat(appt.end) - first
    found: list[tuple[str, datetime, datetime]] = []
    if appt.recurrence is None:
        begins = to_utc(first, appt.time_zone)
        found.append((SINGLE, begins, begins + length))
    else:
        recurrence = parse_recurrence(appt.recurrence)
        # An occurrence moves at most 30 days (shared.service.occurrences): look that far.
        wide = (start - timedelta(days=31), until + timedelta(days=31))
        for occ in expand(recurrence, first, length, appt.time_zone, window_start=wide[0], window_end=wide[1]):
            day = occ.start_local.date().isoformat()
            override = appt.occurrences.get(day) or {}
            if override.get("cancelled"):
                continue
            begins, ends = occ.start, occ.end
            if override.get("start"):
                begins = to_utc(datetime.fromisoformat(override["start"]), appt.time_zone)
                ends = to_utc(datetime.fromisoformat(override.get("end") or override["start"]), appt.time_zone)
            found.append((day, begins, ends))
    return [
        Booking(appt.appointment, room, occurrence, begins, ends)
        for occurrence, begins, ends in found
        if start <= begins <= until and ends > now
        for room in rooms
    ]


def may_release(state: str | None, at: datetime | None, now: datetime) -> bool:
    """Whether a booking in `state` (since `at`) is to be released now."""
    if state is None:
        return True
    return state == RELEASING and at is not None and now - at >= LEASE


def check_in_refused(state: str | None) -> str | None:
    """Why a check-in is refused in `state` (None: it is taken, or was already)."""
    if state in (RELEASING, RELEASED):
        return "the room was released: nobody checked in in time"
    return None
