"""Recurring series: a `seriesMaster` is stored; its occurrences are generated on demand.

A master (resources/event.md `type: seriesMaster`, with `recurrence`) is one stored Event.
Its occurrences are computed from the recurrence (shared/core/recurrence.py) and built as
throw-away Event objects with stable ids (state.occurrence_ids: the master's id plus the
original start), `type: occurrence`, `seriesMasterId`, `originalStart`. An occurrence that
is changed is stored as an `exception` under the same id; one that is deleted is recorded in
the master's `cancelled` set and disappears. Views (calendarView, its delta, instances)
show occurrences and exceptions, never the master; /events lists masters, never instances.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

from devtools.graph_emulator.calendar.models import Attendee, Event
from devtools.graph_emulator.core.ids import (
    derived_change_key,
    occurrence_ical_uid,
    occurrence_ids,
    parse_occurrence_id,
)
from devtools.graph_emulator.core.world import World
from shared.core.recurrence import expand
from shared.core.timezones import zone

Notify = Callable[[Event, str], None]
_SLACK = timedelta(days=1)  # all-day items are matched a day wider (events.in_window)


def _spans(master: Event, start: datetime | None, end: datetime | None) -> Iterator[tuple[datetime, datetime]]:
    """(start, end) in UTC of every occurrence the recurrence generates (cancelled ones too)."""
    if master.recurrence is None:
        return
    tz = zone(master.start_tz)
    first = master.start.astimezone(tz).replace(tzinfo=None)
    for occ in expand(
        master.recurrence,
        first,
        master.end - master.start,
        master.start_tz,
        window_start=start - _SLACK if start else None,
        window_end=end + _SLACK if end else None,
    ):
        yield occ.start, occ.end


def in_window(ev: Event, start: datetime, end: datetime) -> bool:
    if ev.is_all_day:
        return ev.start < end + _SLACK and start - _SLACK < ev.end
    return ev.start < end and start < ev.end


def occurs_at(master: Event, original_start: datetime) -> tuple[datetime, datetime] | None:
    """The generated span of the occurrence that originally starts then, if the series has one."""
    for s, e in _spans(master, original_start, original_start + timedelta(seconds=1)):
        if s == original_start:
            return s, e
    return None


def materialise(master: Event, original_start: datetime, end: datetime) -> Event:
    """The occurrence of `master` that starts at `original_start`, as an Event (not stored)."""
    rest_id, immutable_id = occurrence_ids(master.rest_id, original_start)
    local_day = original_start.astimezone(zone(master.start_tz)).date()
    return Event(
        rest_id=rest_id,
        immutable_id=immutable_id,
        mailbox_id=master.mailbox_id,
        ical_uid=occurrence_ical_uid(master.ical_uid, local_day),
        subject=master.subject,
        start=original_start,
        end=end,
        start_tz=master.start_tz,
        end_tz=master.end_tz,
        is_all_day=master.is_all_day,
        body_type=master.body_type,
        body=master.body,
        location=master.location,
        location_email=master.location_email,
        sensitivity=master.sensitivity,
        show_as=master.show_as,
        importance=master.importance,
        categories=list(master.categories),
        organizer_address=master.organizer_address,
        organizer_name=master.organizer_name,
        is_organizer=master.is_organizer,
        is_cancelled=master.is_cancelled,
        response=master.response,
        response_time=master.response_time,
        attendees=[Attendee(a.address, a.name, a.type, a.response, a.response_time) for a in master.attendees],
        extended=dict(master.extended),
        extended_ids=dict(master.extended_ids),
        created=master.created,
        modified=master.modified,
        # An occurrence changes when its series does, not when a sibling does.
        change_key=derived_change_key(master.series_key, rest_id),
        seq=master.seq,
        kind="occurrence",
        master_id=master.rest_id,
        original_start=original_start,
        online_provider=master.online_provider,  # a series has one online meeting
        online_meeting=dict(master.online_meeting) if master.online_meeting else None,
    )


def instances(world: World, master: Event, start: datetime, end: datetime) -> list[Event]:
    """event-list-instances.md: the occurrences and exceptions of `master` in [start, end)."""
    out: list[Event] = []
    for s, e in _spans(master, start, end):
        if s in master.cancelled or s in master.exceptions:
            continue
        occ = materialise(master, s, e)
        if in_window(occ, start, end):
            out.append(occ)
    mailbox = world.mailbox(master.mailbox_id)
    for rest_id in master.exceptions.values():
        exc = mailbox.get(rest_id)
        if exc is not None and in_window(exc, start, end):
            out.append(exc)
    return sorted(out, key=lambda ev: (ev.start, ev.rest_id))


def view(world: World, mailbox_id: str, start: datetime, end: datetime) -> list[Event]:
    """What a calendarView of [start, end) holds: single events, occurrences and exceptions."""
    out: list[Event] = []
    for ev in world.mailbox(mailbox_id).values():
        if ev.kind == "seriesMaster":
            out += instances(world, ev, start, end)
        elif ev.kind == "singleInstance" and in_window(ev, start, end):
            out.append(ev)
    return sorted(out, key=lambda ev: (ev.start, ev.rest_id))


def lookup(world: World, mailbox_id: str, event_id: str) -> Event | None:
    """The event an id names in a mailbox: a stored one, or a generated occurrence."""
    stored = world.find_event(mailbox_id, event_id)
    if stored is not None:
        return stored
    parsed = parse_occurrence_id(event_id)
    if parsed is None:
        return None
    master_id, original_start = parsed
    master = world.find_event(mailbox_id, master_id)
    if master is None or master.kind != "seriesMaster" or original_start in master.cancelled:
        return None
    if original_start in master.exceptions:
        return world.mailbox(mailbox_id).get(master.exceptions[original_start])
    span = occurs_at(master, original_start)
    return materialise(master, *span) if span else None


def master_of(world: World, ev: Event) -> Event | None:
    return world.mailbox(ev.mailbox_id).get(ev.master_id) if ev.master_id else None


def make_exception(world: World, occ: Event) -> Event:
    """Store a generated occurrence as an exception (same id) and return it."""
    master = master_of(world, occ)
    assert master is not None and occ.original_start is not None
    occ.kind = "exception"
    master.exceptions[occ.original_start] = occ.rest_id
    world.add_event(occ)
    world.touch(occ)  # a change key of its own from now on
    world.touch(master)
    return occ


def cancel_occurrence(world: World, ev: Event) -> None:
    """Delete one occurrence or exception: the master records it; delta reports it removed."""
    master = master_of(world, ev)
    assert master is not None and ev.original_start is not None
    master.cancelled.add(ev.original_start)
    master.exceptions.pop(ev.original_start, None)
    if ev.kind == "exception":
        world.remove_event(ev)
    else:
        world.tombstone(ev)
    world.touch(master)


def cancelled_occurrences(master: Event, master_id: str) -> list[str]:
    """resources/event.md `cancelledOccurrences`: the occurrenceIds of the master's deleted
    occurrences, `OID.{master id}.{date}` (beta event-get.md's example); the date is the
    original start's in the series' time zone (docs silent; the zone its pattern counts in)."""
    tz = zone(master.start_tz)
    return [f"OID.{master_id}.{at.astimezone(tz).date().isoformat()}" for at in sorted(master.cancelled)]


# [MS-OXOCAL] 2.2.1.44.2 ExceptionInfo: an exception stores what it overrides (OverrideFlags
# ARO_SUBJECT, ARO_LOCATION, ARO_BUSYSTATUS, ARO_EXCEPTIONAL_BODY); the rest comes from its
# master, so a later change of the series reaches every exception that did not change it.
INHERITED = {
    "subject": ("subject",),
    "location": ("location", "location_email"),
    "showAs": ("show_as",),
    "body": ("body", "body_type"),
}


def values(ev: Event) -> dict[str, tuple[object, ...]]:
    """The inheritable values of an event, by wire name."""
    return {key: tuple(getattr(ev, attr) for attr in attrs) for key, attrs in INHERITED.items()}


def inherit(world: World, master: Event, changed: set[str], notify: Notify) -> None:
    """The master's `changed` fields reach each of its exceptions that does not override them."""
    fields = [key for key in INHERITED if key in changed]
    mailbox = world.mailbox(master.mailbox_id)
    for rest_id in list(master.exceptions.values()) if fields else ():
        exc = mailbox.get(rest_id)
        if exc is None or exc.is_cancelled:
            continue
        taken = [key for key in fields if key not in exc.overrides]
        for key in taken:
            for attr in INHERITED[key]:
                setattr(exc, attr, getattr(master, attr))
        if taken:
            world.touch(exc)
            notify(exc, "updated")


def drop_instances(world: World, master: Event, notify: Notify) -> None:
    """The series was re-timed: its exceptions and cancellations are gone (Outlook discards
    them when a series' pattern or time changes; the docs are silent)."""
    mailbox = world.mailbox(master.mailbox_id)
    for rest_id in list(master.exceptions.values()):
        exc = mailbox.get(rest_id)
        if exc is not None:
            world.remove_event(exc)
            notify(exc, "deleted")
    master.exceptions.clear()
    master.cancelled.clear()


def remove_series(world: World, master: Event, notify: Notify) -> None:
    """Delete a master: the whole series goes (event-delete.md)."""
    mailbox = world.mailbox(master.mailbox_id)
    for rest_id in list(master.exceptions.values()):
        exc = mailbox.get(rest_id)
        if exc is not None:
            world.remove_event(exc)
    world.remove_event(master)
    # A master is never part of a calendar view, so delta has nothing to report for it
    # (its occurrences the client had are reported removed).
    world.tombstones.get(master.mailbox_id, {}).pop(master.rest_id, None)


def busy_spans(ev: Event, horizon_days: int) -> list[tuple[datetime, datetime]]:
    """When a meeting occupies a room: a single event's span, or every occurrence of a series
    (up to `horizon_days` after its start for an endless one)."""
    if ev.kind != "seriesMaster":
        return [(ev.start, ev.end)]
    until = ev.start + timedelta(days=horizon_days)
    return [(s, e) for s, e in _spans(ev, None, until) if s not in ev.cancelled]
