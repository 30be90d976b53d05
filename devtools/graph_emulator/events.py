"""Events: wire format in and out, and what Exchange does around a meeting.

An organizer's meeting creates a copy in each attendee mailbox of the same tenant (same
iCalUId); room and equipment mailboxes auto-accept when free and decline when busy (the
resource booking attendant's AutoAccept default: the room's copy gets the organizer's
name as subject and no body). Updates flow to the copies; deleting or cancelling the
organizer's event cancels them. Attendee responses update the organizer's event.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from devtools.graph_emulator import online, series
from devtools.graph_emulator.series import in_window
from devtools.graph_emulator.state import (
    Attendee,
    Event,
    User,
    World,
    immutable_of,
    new_change_key,
    new_event_ids,
    new_ical_uid,
    now,
    occurrence_ids,
    series_ical_uid,
)
from shared.core.errors import InvalidInput
from shared.core.recurrence import Recurrence, parse_recurrence
from shared.core.timezones import UnknownTimeZone, zone

__all__ = ["GraphError", "View", "in_window", "render"]

Notify = Callable[[Event, str], None]  # (event, changeType) — after every change


class GraphError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


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


def _local(dt: datetime, tz_name: str) -> datetime:
    return dt.astimezone(zone(tz_name)).replace(tzinfo=None)


def _plain(text: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", text))).strip()


def _html(text: str) -> str:
    return (
        '<html>\r\n<head>\r\n<meta http-equiv="Content-Type" content="text/html; charset=utf-8">\r\n</head>\r\n'
        f"<body>\r\n{html.escape(text)}\r\n</body>\r\n</html>\r\n"
    )


@dataclass(frozen=True)
class View:
    """How the caller wants events rendered (from its Prefer headers and query)."""

    tz: str = "UTC"
    immutable: bool = False
    text_body: bool = False
    expand: Callable[[dict[str, Any]], bool] | None = None


def event_id(ev: Event, immutable: bool) -> str:
    return ev.immutable_id if immutable else ev.rest_id


def render(world: World, ev: Event, view: View) -> dict[str, Any]:
    if ev.is_all_day:
        start = fmt(_local(ev.start, ev.start_tz))
        end = fmt(_local(ev.end, ev.end_tz))
    else:
        start, end = fmt(_local(ev.start, view.tz)), fmt(_local(ev.end, view.tz))
    body = ev.body if ev.body_type == "html" else _html(ev.body)
    body_type = "html"
    if view.text_body:
        body, body_type = (_plain(ev.body) if ev.body_type == "html" else ev.body), "text"
    location = {"displayName": ev.location, "locationType": "default", "uniqueIdType": "unknown"}
    if ev.location_email:
        location.update(
            {
                "locationUri": ev.location_email,
                "locationType": "conferenceRoom",
                "uniqueId": ev.location_email,
                "uniqueIdType": "directory",
            }
        )
    out: dict[str, Any] = {
        "@odata.etag": f'W/"{ev.change_key}"',
        "id": event_id(ev, view.immutable),
        "createdDateTime": fmt_utc(ev.created),
        "lastModifiedDateTime": fmt_utc(ev.modified),
        "changeKey": ev.change_key,
        "categories": list(ev.categories),
        "originalStartTimeZone": ev.start_tz,
        "originalEndTimeZone": ev.end_tz,
        "iCalUId": ev.ical_uid,
        "reminderMinutesBeforeStart": 15,
        "isReminderOn": not ev.is_cancelled,
        "hasAttachments": False,
        "subject": ev.subject,
        "bodyPreview": _plain(ev.body)[:255],
        "importance": ev.importance,
        "sensitivity": ev.sensitivity,
        "isAllDay": ev.is_all_day,
        "isCancelled": ev.is_cancelled,
        "isOrganizer": ev.is_organizer,
        "responseRequested": True,
        "seriesMasterId": (immutable_of(ev.master_id) if view.immutable else ev.master_id) if ev.master_id else None,
        "showAs": "free" if ev.is_cancelled else ev.show_as,
        "type": ev.kind,
        "webLink": f"https://outlook.office365.com/owa/?itemid={ev.rest_id}&exvsurl=1&path=/calendar/item",
        **online.render(ev),  # isOnlineMeeting, onlineMeetingProvider, onlineMeetingUrl, onlineMeeting
        "allowNewTimeProposals": True,
        "isDraft": False,
        "hideAttendees": False,
        "responseStatus": {
            "response": ev.response,
            "time": fmt_utc(ev.response_time) if ev.response_time else "0001-01-01T00:00:00Z",
        },
        "body": {"contentType": body_type, "content": body},
        "start": {"dateTime": start, "timeZone": view.tz},
        "end": {"dateTime": end, "timeZone": view.tz},
        "location": location,
        "locations": [location] if ev.location else [],
        "recurrence": ev.recurrence.to_graph(ev.start_tz) if ev.recurrence else None,
        "attendees": [
            {
                "type": a.type,
                "status": {
                    "response": a.response,
                    "time": fmt_utc(a.response_time) if a.response_time else "0001-01-01T00:00:00Z",
                },
                "emailAddress": {"name": a.name, "address": a.address},
            }
            for a in ev.attendees
        ],
        "organizer": {"emailAddress": {"name": ev.organizer_name, "address": ev.organizer_address}},
    }
    if ev.original_start is not None:
        out["originalStart"] = fmt_utc(ev.original_start)
    if ev.transaction_id:
        out["transactionId"] = ev.transaction_id
    if view.expand is not None:
        props = [{"id": ev.extended_ids[k], "value": v} for k, v in ev.extended.items()]
        out["singleValueExtendedProperties"] = [p for p in props if view.expand(p)]
    return out


def filter_view(ev: Event, rendered: dict[str, Any]) -> dict[str, Any]:
    """What a $filter sees: the rendered event plus its extended properties."""
    props = [{"id": ev.extended_ids[k], "value": v} for k, v in ev.extended.items()]
    return {**rendered, "singleValueExtendedProperties": props}


def normalise_property_id(prop_id: str) -> str:
    # "String {GUID} Name X": the type and GUID are case-insensitive, the name is not.
    m = re.fullmatch(r"\s*(\w+)\s+\{([0-9A-Fa-f-]{36})\}\s+(Name|Id)\s+(.+?)\s*", prop_id)
    if m:
        return f"{m.group(1).lower()} {{{m.group(2).lower()}}} {m.group(3).lower()} {m.group(4)}"
    return prop_id.strip().lower()


# -- applying a request body ---------------------------------------------------------
_SIMPLE = {"subject": "subject", "sensitivity": "sensitivity", "showAs": "show_as", "importance": "importance"}
_MAX_ATTENDEES = 500


def apply_body(world: World, ev: Event, body: dict[str, Any], *, creating: bool) -> set[str]:
    """Apply a create/PATCH body to `ev`; returns the names of what changed."""
    if not isinstance(body, dict):
        raise GraphError(400, "BadRequest", "Empty Payload. JSON content expected.")
    changed: set[str] = set()
    if "transactionId" in body and not creating and body["transactionId"] != ev.transaction_id:
        raise GraphError(400, "ErrorInvalidRequest", "The transactionId property can't be changed.")
    recurrence = _recurrence_of(ev, body)
    meeting = online.plan(world, ev, body)  # checked before anything changes
    for key, attr in _SIMPLE.items():
        if key in body and body[key] is not None and getattr(ev, attr) != body[key]:
            setattr(ev, attr, str(body[key]))
            changed.add(key)
    if "categories" in body:
        ev.categories = [str(c) for c in body["categories"] or []]
        changed.add("categories")
    if "body" in body and body["body"] is not None:
        content = str(body["body"].get("content") or "")
        kind = str(body["body"].get("contentType") or "text").lower()
        if (content, kind) != (ev.body, ev.body_type):
            ev.body, ev.body_type = content, kind
            changed.add("body")
    if "location" in body:
        loc = body["location"] or {}
        name, email = str(loc.get("displayName") or ""), loc.get("locationEmailAddress")
        if (name, email) != (ev.location, ev.location_email):
            ev.location, ev.location_email = name, email
            changed.add("location")
    start, start_tz = parse_dt(body["start"], "start") if "start" in body else (ev.start, ev.start_tz)
    end, end_tz = parse_dt(body["end"], "end") if "end" in body else (ev.end, ev.end_tz)
    all_day = bool(body.get("isAllDay", ev.is_all_day))
    if end < start:
        raise GraphError(400, "ErrorInvalidRequest", "The event's end time can't be earlier than its start time.")
    if all_day:
        ls, le = _local(start, start_tz), _local(end, end_tz)
        if ls.time() != datetime.min.time() or le.time() != datetime.min.time() or start_tz != end_tz:
            raise GraphError(
                400,
                "ErrorInvalidRequest",
                "Your request can't be completed. If an event is an all-day event, its start and end times must "
                "be set to midnight and be in the same time zone.",
            )
    if recurrence is not None:
        _check_series_start(recurrence, start, start_tz)
        if recurrence != ev.recurrence:
            ev.recurrence, ev.kind = recurrence, "seriesMaster"
            changed.add("recurrence")
    if (start, end, start_tz, end_tz, all_day) != (ev.start, ev.end, ev.start_tz, ev.end_tz, ev.is_all_day):
        ev.start, ev.end, ev.start_tz, ev.end_tz, ev.is_all_day = start, end, start_tz, end_tz, all_day
        changed.add("time")
    if "attendees" in body:
        wanted = body["attendees"] or []
        if len(wanted) > _MAX_ATTENDEES:
            raise GraphError(400, "ErrorTooManyRecipients", f"An event can have at most {_MAX_ATTENDEES} attendees.")
        old = {a.address.lower(): a for a in ev.attendees}
        attendees = []
        for raw in wanted:
            email = (raw.get("emailAddress") or {}) if isinstance(raw, dict) else {}
            address = str(email.get("address") or "").strip()
            if not address or "@" not in address:
                raise GraphError(400, "ErrorInvalidRecipients", "At least one recipient isn't valid.")
            kept = old.get(address.lower())
            attendees.append(
                Attendee(
                    address,
                    str(email.get("name") or address),
                    str(raw.get("type") or "required"),
                    kept.response if kept else "none",
                    kept.response_time if kept else None,
                )
            )
        if [(a.address.lower(), a.type) for a in attendees] != [(a.address.lower(), a.type) for a in ev.attendees]:
            changed.add("attendees")
        ev.attendees = attendees
    for prop in body.get("singleValueExtendedProperties") or []:
        key = normalise_property_id(str(prop.get("id", "")))
        ev.extended_ids[key] = str(prop.get("id"))
        if ev.extended.get(key) != prop.get("value"):
            ev.extended[key] = str(prop.get("value"))
            changed.add("extended")
    if meeting is not None:
        ev.online_provider, ev.online_meeting = meeting
        # Exchange adds the join block to the body (shared with attendees' copies).
        base = ev.body if ev.body_type == "html" else _html(ev.body)
        ev.body, ev.body_type = online.with_join_block(base, ev.online_meeting), "html"
        changed.add("online")
    return changed


MAX_OCCURRENCES = 999  # docs silent: Outlook's "End after" stops at 999 occurrences


def _recurrence_of(ev: Event, body: dict[str, Any]) -> Recurrence | None:
    """The series' recurrence after this body: the one given (validated), else the one it has."""
    if "recurrence" not in body:
        return ev.recurrence
    raw = body["recurrence"]
    if ev.kind in ("occurrence", "exception"):
        if raw is None:
            return None
        raise GraphError(
            400, "ErrorInvalidRequest", "An occurrence or exception of a series can't have a recurrence of its own."
        )
    if raw is None:
        if ev.kind == "seriesMaster":  # docs silent; refused rather than turning a series into one event
            raise GraphError(400, "ErrorInvalidRequest", "The recurrence of a series can't be removed.")
        return None
    try:
        return parse_recurrence(raw, max_occurrences=MAX_OCCURRENCES)
    except InvalidInput as exc:
        raise GraphError(400, "ErrorInvalidRequest", f"{exc.field}: {exc.message}") from None


def _check_series_start(recurrence: Recurrence, start: datetime, start_tz: str) -> None:
    """outlook-schedule-recurring-events.md: "The value of startDate MUST correspond to the
    date value of the start property"; recurrenceTimeZone defaults to the event's zone (the
    emulator refuses another one)."""
    local = start.astimezone(zone(start_tz)).date()
    if recurrence.range.start_date != local:
        raise GraphError(
            400,
            "ErrorInvalidRequest",
            f"recurrence.range.startDate {recurrence.range.start_date} must be the date of the start ({local}).",
        )
    tz = recurrence.range.recurrence_time_zone
    if tz is not None and zone(tz).key != zone(start_tz).key:
        raise GraphError(
            400,
            "ErrorInvalidRequest",
            f"recurrence.range.recurrenceTimeZone '{tz}' must be the start's time zone '{start_tz}'.",
        )


def new_event(user: User, body: dict[str, Any]) -> Event:
    rest_id, immutable_id = new_event_ids(user.id)
    start, start_tz = parse_dt(body.get("start"), "start")
    end, end_tz = parse_dt(body.get("end"), "end")
    return Event(
        rest_id=rest_id,
        immutable_id=immutable_id,
        mailbox_id=user.id,
        ical_uid=new_ical_uid(),
        subject="",
        start=start,
        end=end,
        start_tz=start_tz,
        end_tz=end_tz,
        organizer_address=user.mail,
        organizer_name=user.display_name,
        transaction_id=body.get("transactionId"),
    )


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
            _fill_copy(copy, org, user)
            if retimed:
                series.drop_instances(world, copy, notify)
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
