"""The soak test's reference: what the booking product asked for (appointments, series and
their exceptions, tasks), what people did in Outlook and To Do, and what calsync should
therefore show (bench/soak.py and its mixins drive it; nothing here does I/O).

Written from docs/api.md, not from the app's code: the expected targets of an appointment,
the feed changes an Outlook action must produce, and which changes are explained at all.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

# docs/api.md: every event calsync writes carries this extended property = "{org}/{appointment}".
PROPERTY_ID = "String {8f7a3c1e-2b4d-4e6f-9a0b-c1d2e3f4a5b6} Name calsyncAppointment"
TWO_WAY, ONE_WAY = "twoWay", "oneWay"


def utc(value: str) -> datetime:
    """`2026-12-03T10:00:00Z`, `…00.0000000` (UTC) or with an offset → aware UTC datetime."""
    text = re.sub(r"(\.\d{1,6})\d*", r"\1", value.strip().replace("Z", "+00:00"), count=1)  # Graph has 7 digits
    at = datetime.fromisoformat(text)
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC)


def zulu(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Mailbox:
    upn: str
    id: str
    display: str
    room: bool


@dataclass
class Appt:
    org: str
    id: str
    title: str
    start: datetime
    end: datetime
    tz: str
    location: str = ""
    organizer: str | None = None
    attendees: list[str] = field(default_factory=list)
    guests: list[str] = field(default_factory=list)
    resources: list[str] = field(default_factory=list)
    deleted: bool = False
    busy: str | None = None  # what holds it: an Outlook action awaiting its report, a booking write…
    pending: bool = False  # answered 202: targets still pending
    put_once: bool = False
    online: bool = False  # "onlineMeeting": true (never turned off again: Outlook keeps it)
    recurrence: dict[str, Any] | None = None  # Graph's patternedRecurrence: daily or weekly, numbered
    # The booking's exceptions by original date (YYYY-MM-DD in `tz`): {"cancelled": True}, or
    # what it changed of that occurrence: "start"/"end" (aware UTC datetimes), "title".
    occ: dict[str, dict[str, Any]] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "title": self.title,
            "start": zulu(self.start),
            "end": zulu(self.end),
            "timeZone": self.tz,
            "location": self.location,
            "body": "Booked by the soak",
            "organizer": self.organizer,
            "attendees": self.attendees,
            "guests": self.guests,
            "resources": self.resources,
        }
        if self.online:
            out["onlineMeeting"] = True
        if self.recurrence:
            out["recurrence"] = self.recurrence
        return out

    def series(self) -> dict[str, tuple[datetime, datetime]]:
        """docs/api.md "Recurring appointments": original date → the plain occurrence's
        (start, end); each keeps the wall-clock time in `tz`."""
        if not self.recurrence:
            return {}
        tz = ZoneInfo(self.tz)
        first = self.start.astimezone(tz)
        pattern, count = self.recurrence["pattern"], self.recurrence["range"]["numberOfOccurrences"]
        step = pattern["interval"] * (7 if pattern["type"] == "weekly" else 1)
        out = {}
        for i in range(count):
            day = first.date() + timedelta(days=step * i)
            start = datetime.combine(day, first.time(), tz).astimezone(UTC)
            out[day.isoformat()] = (start, start + (self.end - self.start))
        return out

    def occurrences(self) -> dict[str, dict[str, Any]]:
        """What the booking wants of each live occurrence: original date → start, end, title
        (None: the series' own)."""
        out = {}
        for day, (start, end) in self.series().items():
            own = self.occ.get(day, {})
            if own.get("cancelled"):
                continue
            out[day] = {"start": own.get("start", start), "end": own.get("end", end), "title": own.get("title")}
        return out

    def local(self, at: datetime) -> str:
        """A wall-clock time in the appointment's zone, as the occurrence routes take it."""
        return at.astimezone(ZoneInfo(self.tz)).strftime("%Y-%m-%dT%H:%M:%S")

    def occurrence_day(self, original_start: str) -> str:
        """An instance's `originalStart` (UTC) → its original date in `tz`."""
        return utc(original_start).astimezone(ZoneInfo(self.tz)).date().isoformat()


@dataclass
class Task:
    """docs/api.md "Tasks (Microsoft To Do)": one booking task, pushed to a worker's To Do."""

    org: str
    id: str
    worker: str
    title: str
    importance: str = "normal"
    status: str = "notStarted"
    due: str | None = None  # YYYY-MM-DD
    deleted: bool = False
    busy: str | None = None
    pending: bool = False
    put_once: bool = False

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "worker": self.worker,
            "title": self.title,
            "importance": self.importance,
            "status": self.status,
        }
        if self.due:
            out["dueDate"] = self.due
        return out


@dataclass
class OrgModel:
    id: str
    prefix: str
    use_organizer: bool
    mode: str = TWO_WAY
    workers: dict[str, str] = field(default_factory=dict)  # worker id → upn
    resources: dict[str, str] = field(default_factory=dict)  # resource id → upn
    room_names: dict[str, str] = field(default_factory=dict)
    linked: set[tuple[str, str]] = field(default_factory=set)  # (kind, id)
    appts: dict[str, Appt] = field(default_factory=dict)
    tasks: dict[str, Task] = field(default_factory=dict)
    cursor: str | None = None
    feed: list[dict[str, Any]] = field(default_factory=list)
    modes: list[tuple[datetime, str]] = field(default_factory=list)
    ever_linked: set[str] = field(default_factory=set)  # mailbox ids

    def upn(self, kind: str, ident: str) -> str:
        return (self.workers if kind == "worker" else self.resources)[ident]

    def is_linked(self, kind: str, ident: str) -> bool:
        return (kind, ident) in self.linked

    def owners(self, boxes: dict[str, Mailbox]) -> dict[str, tuple[str, str]]:
        """Mailbox id → (kind, owner id) of what is linked now."""
        return {boxes[self.upn(kind, ident)].id: (kind, ident) for kind, ident in self.linked}

    def mode_at(self, at: datetime) -> str:
        mode = self.modes[0][1] if self.modes else TWO_WAY
        for since, value in self.modes:
            if since <= at:
                mode = value
        return mode


@dataclass
class Want:
    """One calsync-written event the booking product's appointment should have."""

    mailbox: str  # user id
    role: str  # organizer | copy | resource
    title: str
    start: str
    end: str
    location: str
    attendees: frozenset[tuple[str, str]] | None = None  # organizer meetings: (address, type)


def expected(org: OrgModel, appt: Appt, boxes: dict[str, Mailbox]) -> dict[str, Want]:
    """docs/api.md "PUT …/appointments": one meeting in the linked organizer's calendar
    (useOrganizer), else a copy per linked worker and linked resource."""
    if appt.deleted:
        return {}

    def box(kind: str, ident: str) -> Mailbox | None:
        return boxes[org.upn(kind, ident)] if org.is_linked(kind, ident) else None

    start, end = zulu(appt.start), zulu(appt.end)
    organizer = box("worker", appt.organizer) if appt.organizer else None
    out: dict[str, Want] = {}
    if org.use_organizer and organizer is not None:
        people: set[tuple[str, str]] = set()
        for worker in appt.attendees:
            b = box("worker", worker)
            if worker != appt.organizer and b is not None and b.id != organizer.id:
                people.add((b.upn.lower(), "required"))
        people |= {(g.lower(), "required") for g in appt.guests}
        names = []
        for resource in appt.resources:
            b = box("resource", resource)
            if b is not None:
                people.add((b.upn.lower(), "resource"))
                names.append(org.room_names.get(resource) or b.upn)
        location = appt.location or "; ".join(names)
        out[organizer.id] = Want(organizer.id, "organizer", appt.title, start, end, location, frozenset(people))
        return out
    for worker in dict.fromkeys(([appt.organizer] if appt.organizer else []) + appt.attendees):
        b = box("worker", worker)
        if b is not None and b.id not in out:
            out[b.id] = Want(b.id, "copy", appt.title, start, end, appt.location)
    for resource in appt.resources:
        b = box("resource", resource)
        if b is not None and b.id not in out:
            location = appt.location or org.room_names.get(resource) or b.upn
            out[b.id] = Want(b.id, "resource", appt.title, start, end, location)
    return out


def event_content(event: dict[str, Any]) -> dict[str, str]:
    """An emulator event (UTC times asked for) → the fields a feed change reports."""
    return {
        "title": event.get("subject") or "",
        "start": zulu(utc((event.get("start") or {}).get("dateTime", ""))),
        "end": zulu(utc((event.get("end") or {}).get("dateTime", ""))),
        "location": ((event.get("location") or {}).get("displayName") or "").strip(),
    }


def tag(event: dict[str, Any]) -> str | None:
    for prop in event.get("singleValueExtendedProperties") or []:
        return prop.get("value")
    return None


@dataclass
class OutlookEvent:
    """An event a person made in Outlook (not calsync's)."""

    mailbox: str
    id: str
    room: bool
    titles: list[str]
    deleted: bool = False
    busy: bool = False
    known_by: set[str] = field(default_factory=set)  # orgs that have seen it in a round
    ids: dict[str, str] = field(default_factory=dict)  # org → the appointment id its feed gave it


@dataclass
class Expect:
    """A feed change an Outlook action must produce in one org."""

    org: str
    types: tuple[str, ...]
    mailbox: str
    event_id: str | None
    appointment: str | None
    want: dict[str, Any]
    desc: str
    made: float  # monotonic
    who: tuple[str, str] | None = None  # (kind, id) the change must name
    changed: frozenset[str] | None = None  # data.changed must lie within this
    done: bool = False
    op: Any = None  # the Op it belongs to
    task: str | None = None  # a task_* change: the task it must name
    missing: str = "feed_missing"  # the failure kind when it never comes
    missed: bool = False  # failed as missing at a quiescence
    late: bool = False  # …and reported later after all

    def matches(self, change: dict[str, Any]) -> bool:
        if change.get("type") not in self.types or change.get("mailbox") != self.mailbox:
            return False
        if self.task is not None and change.get("task") != self.task:
            return False
        if self.event_id is not None and change.get("eventId") != self.event_id:
            return False
        if self.appointment is not None and change.get("appointment") != self.appointment:
            return False
        if self.who is not None and change.get(self.who[0]) != self.who[1]:
            return False
        data = change.get("data") or {}
        return all(data.get(k) == v for k, v in self.want.items())


@dataclass
class Op:
    """One Outlook action: its expected changes, and what to do once they are all seen."""

    desc: str
    expects: list[Expect] = field(default_factory=list)
    after: Callable[[dict[str, dict[str, Any]]], None] | None = None  # org → the matching change
    seen: dict[str, dict[str, Any]] = field(default_factory=dict)
    finished: bool = False
