"""Events on the wire, in: a create or PATCH body applied to an event, as Exchange validates it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from devtools.graph_emulator.calendar import online
from devtools.graph_emulator.calendar.models import Attendee, Event
from devtools.graph_emulator.calendar.render import as_html, normalise_property_id
from devtools.graph_emulator.core.errors import GraphError
from devtools.graph_emulator.core.ids import (
    new_event_ids,
    new_ical_uid,
)
from devtools.graph_emulator.core.times import in_zone, parse_dt
from devtools.graph_emulator.core.world import World
from devtools.graph_emulator.directory.models import User
from shared.core.errors import InvalidInput
from shared.core.recurrence import Recurrence, parse_recurrence
from shared.core.timezones import zone

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
        ls, le = in_zone(start, start_tz), in_zone(end, end_tz)
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
        base = ev.body if ev.body_type == "html" else as_html(ev.body)
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
