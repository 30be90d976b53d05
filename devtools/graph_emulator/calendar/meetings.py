"""What Exchange does around a meeting: copies in attendee and room calendars (rooms
auto-accept when free), updates and cancellations flowing to them, attendees' answers."""

from __future__ import annotations

from collections.abc import Callable

from devtools.graph_emulator.calendar import online, series
from devtools.graph_emulator.calendar.models import Attendee, Event
from devtools.graph_emulator.core.errors import GraphError
from devtools.graph_emulator.core.ids import (
    new_change_key,
    new_event_ids,
    now,
    occurrence_ids,
    series_ical_uid,
)
from devtools.graph_emulator.core.world import World
from devtools.graph_emulator.directory.models import User

Notify = Callable[[Event, str], None]  # (event, changeType) — after every change


# -- meetings --------------------------------------------------------------------------
ROOM_HORIZON_DAYS = 1080  # an endless series is checked for conflicts this far (BookingWindowInDays' maximum)


def _room_is_free(world: World, room: User, meeting: Event) -> bool:
    """AutoAccept with AllowConflicts false: the room is busy if anything else it holds (not
    cancelled, not free) overlaps the meeting — for a series, any occurrence of it."""
    spans = series.busy_spans(meeting, ROOM_HORIZON_DAYS)
    if not spans:
        return True
    family = series_ical_uid(meeting.ical_uid)
    others = [
        other
        for other in series.view(world, room.id, min(s for s, _ in spans), max(e for _, e in spans))
        if series_ical_uid(other.ical_uid) != family and not other.is_cancelled and other.show_as != "free"
    ]
    return not any(other.start < e and s < other.end for other in others for s, e in spans)


def _copy_of(world: World, mailbox_id: str, ical_uid: str) -> Event | None:
    return next((e for e in world.mailbox(mailbox_id).values() if e.ical_uid == ical_uid), None)


def _fill_copy(copy: Event, org: Event, attendee_user: User) -> None:
    resource = attendee_user.user_purpose in ("room", "equipment")
    # AutoAccept defaults: AddOrganizerToSubject and DeleteSubject, DeleteComments.
    copy.subject = org.organizer_name if resource else org.subject
    copy.body, copy.body_type = ("", "text") if resource else (org.body, org.body_type)
    copy.start, copy.end, copy.start_tz, copy.end_tz = org.start, org.end, org.start_tz, org.end_tz
    copy.is_all_day, copy.location, copy.location_email = org.is_all_day, org.location, org.location_email
    copy.sensitivity, copy.importance, copy.show_as = org.sensitivity, org.importance, org.show_as
    copy.attendees = [Attendee(a.address, a.name, a.type, a.response, a.response_time) for a in org.attendees]
    copy.organizer_address, copy.organizer_name = org.organizer_address, org.organizer_name
    copy.kind, copy.recurrence = org.kind, org.recurrence
    online.copy_to(copy, org)  # attendees join with the organizer's URL
    copy.series_key = new_change_key()  # the copy's occurrences change with it


def _set_attendee_status(org: Event, address: str, response: str) -> bool:
    for a in org.attendees:
        if a.address.lower() == address.lower() and a.response != response:
            a.response, a.response_time = response, now()
            return True
    return False


def _remove(world: World, ev: Event, notify: Notify) -> None:
    """An item leaves its calendar: a whole series, one occurrence, or a single event."""
    if ev.kind == "seriesMaster":
        series.remove_series(world, ev, notify)
    elif ev.kind in ("occurrence", "exception"):
        series.cancel_occurrence(world, ev)
    else:
        world.remove_event(ev)
    notify(ev, "deleted")


def sync_meeting(
    world: World, org: Event, notify: Notify, previous_attendees: list[str], *, retimed: bool = False
) -> None:
    """After the organizer's event (or series) changed: create, update or cancel attendee
    copies. `retimed`: the series' pattern or time changed, so the copies lose their exceptions."""
    organizer = world.user(org.mailbox_id)
    tenant_id = organizer.tenant_id if organizer else ""
    organizer_changed = False
    for attendee in org.attendees:
        user = world.user_by_address(tenant_id, attendee.address)
        if user is None or not user.has_mailbox or user.id == org.mailbox_id:
            continue
        copy = _copy_of(world, user.id, org.ical_uid)
        resource = user.user_purpose in ("room", "equipment")
        if resource and not _room_is_free(world, user, org):
            organizer_changed |= _set_attendee_status(org, attendee.address, "declined")
            if copy is not None and not copy.is_cancelled:
                _remove(world, copy, notify)
            continue
        if copy is None:
            rest_id, immutable_id = new_event_ids(user.id)
            copy = Event(
                rest_id=rest_id,
                immutable_id=immutable_id,
                mailbox_id=user.id,
                ical_uid=org.ical_uid,
                subject="",
                start=org.start,
                end=org.end,
                start_tz=org.start_tz,
                end_tz=org.end_tz,
                is_organizer=False,
                response="accepted" if resource else "notResponded",
            )
            if resource:
                copy.response_time = now()
                organizer_changed |= _set_attendee_status(org, attendee.address, "accepted")
            _fill_copy(copy, org, user)
            copy.cancelled = set(org.cancelled)
            world.add_event(copy)
            notify(copy, "created")
        elif copy.is_cancelled:
            continue
        else:
            before = series.values(copy)
            _fill_copy(copy, org, user)
            if retimed:
                series.drop_instances(world, copy, notify)
            else:
                after = series.values(copy)
                series.inherit(world, copy, {k for k in after if after[k] != before[k]}, notify)
            world.touch(copy)
            notify(copy, "updated")
    current = {a.address.lower() for a in org.attendees}
    for address in previous_attendees:
        if address.lower() in current:
            continue
        user = world.user_by_address(tenant_id, address)
        copy = _copy_of(world, user.id, org.ical_uid) if user else None
        if copy is not None and not copy.is_cancelled:
            cancel_copy(world, copy, notify)
    if organizer_changed:
        world.touch(org)
        if org.kind == "seriesMaster":
            org.series_key = new_change_key()  # the occurrences show the attendees' answers
        notify(org, "updated")


def _attendee_copies(world: World, org: Event) -> list[tuple[User, Event]]:
    organizer = world.user(org.mailbox_id)
    out = []
    for attendee in org.attendees:
        user = world.user_by_address(organizer.tenant_id if organizer else "", attendee.address)
        copy = _copy_of(world, user.id, org.ical_uid) if user and user.id != org.mailbox_id else None
        if user is not None and copy is not None:
            out.append((user, copy))
    return out


def sync_occurrence(world: World, org_master: Event, org_inst: Event, notify: Notify, *, cancelled: bool) -> None:
    """After the organizer changed (`org_inst` is the exception) or deleted one occurrence:
    the same occurrence in each attendee's copy of the series follows."""
    assert org_inst.original_start is not None
    organizer_changed = False
    for user, copy in _attendee_copies(world, org_master):
        if copy.kind != "seriesMaster" or copy.is_cancelled:
            continue
        inst = series.lookup(world, user.id, occurrence_ids(copy.rest_id, org_inst.original_start)[0])
        if inst is None or inst.is_cancelled:
            continue
        if cancelled:
            if inst.kind == "occurrence":
                inst = series.make_exception(world, inst)
            cancel_copy(world, inst, notify)
            continue
        generated = inst.kind == "occurrence"
        _fill_copy(inst, org_inst, user)
        inst.overrides = set(org_inst.overrides)
        if user.user_purpose in ("room", "equipment") and not _room_is_free(world, user, inst):
            # The booking attendant declines the changed occurrence: it leaves the room's calendar.
            series.cancel_occurrence(world, inst)
            notify(inst, "deleted")
            entry = next((a.address for a in org_inst.attendees if a.address.lower() in user.smtp_addresses()), None)
            organizer_changed |= bool(entry) and _set_attendee_status(org_inst, entry or "", "declined")
            continue
        if generated:
            series.make_exception(world, inst)
        else:
            world.touch(inst)
        notify(inst, "updated")
    if organizer_changed:
        world.touch(org_inst)
        notify(org_inst, "updated")


def cancel_copy(world: World, copy: Event, notify: Notify) -> None:
    copy.is_cancelled = True
    if not copy.subject.startswith("Canceled: "):
        copy.subject = f"Canceled: {copy.subject}"
    if copy.kind == "seriesMaster":
        copy.series_key = new_change_key()
    world.touch(copy)
    notify(copy, "updated")


def cancel_meeting(world: World, org: Event, notify: Notify) -> None:
    """The organizer deleted or cancelled: every attendee copy becomes cancelled (for a
    series, its master and each exception)."""
    for user, copy in _attendee_copies(world, org):
        if copy.is_cancelled:
            continue
        if copy.kind == "seriesMaster":
            mailbox = world.mailbox(user.id)
            for rest_id in list(copy.exceptions.values()):
                exc = mailbox.get(rest_id)
                if exc is not None and not exc.is_cancelled:
                    cancel_copy(world, exc, notify)
        cancel_copy(world, copy, notify)


def respond(world: World, copy: Event, action: str, notify: Notify) -> None:
    """accept / tentativelyAccept / decline on an attendee's copy (an occurrence answers for itself)."""
    if copy.is_organizer:
        raise GraphError(
            400, "ErrorInvalidRequest", "Your request can't be completed. You can't respond to a meeting you organized."
        )
    response = {"accept": "accepted", "tentativelyAccept": "tentativelyAccepted", "decline": "declined"}[action]
    attendee = world.user(copy.mailbox_id)
    org = next(
        (
            e
            for events in world.events.values()
            for e in events.values()
            if e.ical_uid == copy.ical_uid and e.is_organizer
        ),
        None,
    )
    if action == "decline":
        # Outlook removes a declined meeting from the calendar (it goes to Deleted Items).
        _remove(world, copy, notify)
    else:
        if copy.kind == "occurrence":
            copy = series.make_exception(world, copy)
        copy.response, copy.response_time = response, now()
        if copy.kind == "seriesMaster":
            copy.series_key = new_change_key()
        world.touch(copy)
        notify(copy, "updated")
    # The organizer's attendee entry may name any of the attendee's SMTP addresses (an alias).
    addresses = attendee.smtp_addresses() if attendee is not None else set()
    entry = next((a.address for a in org.attendees if a.address.lower() in addresses), None) if org else None
    if org is not None and entry is not None and _set_attendee_status(org, entry, response):
        world.touch(org)
        if org.kind == "seriesMaster":
            org.series_key = new_change_key()
        notify(org, "updated")
