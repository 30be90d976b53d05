"""Events on the wire, out: an event as Graph answers it for a request's Prefer and $expand."""

from __future__ import annotations

import html
import re
from typing import Any

from devtools.graph_emulator.calendar import online
from devtools.graph_emulator.calendar.models import Event
from devtools.graph_emulator.core.ids import (
    immutable_of,
)
from devtools.graph_emulator.core.times import fmt, fmt_utc, in_zone
from devtools.graph_emulator.core.wire import View
from devtools.graph_emulator.core.world import World


def plain_text(text: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", text))).strip()


def as_html(text: str) -> str:
    return (
        '<html>\r\n<head>\r\n<meta http-equiv="Content-Type" content="text/html; charset=utf-8">\r\n</head>\r\n'
        f"<body>\r\n{html.escape(text)}\r\n</body>\r\n</html>\r\n"
    )


def event_id(ev: Event, immutable: bool) -> str:
    return ev.immutable_id if immutable else ev.rest_id


def render(world: World, ev: Event, view: View) -> dict[str, Any]:
    if ev.is_all_day:
        start = fmt(in_zone(ev.start, ev.start_tz))
        end = fmt(in_zone(ev.end, ev.end_tz))
    else:
        start, end = fmt(in_zone(ev.start, view.tz)), fmt(in_zone(ev.end, view.tz))
    body = ev.body if ev.body_type == "html" else as_html(ev.body)
    body_type = "html"
    if view.text_body:
        body, body_type = (plain_text(ev.body) if ev.body_type == "html" else ev.body), "text"
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
        "bodyPreview": plain_text(ev.body)[:255],
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
