"""Events both ways: the body we write to Graph, and the comparable fields we read back.

Echo suppression rests on `normalize` (an event as Graph answers it) and `written_content`
(what we sent) agreeing on every field we push: tests/unit/test_mapping.py checks that.
"""

from __future__ import annotations

import hashlib
import html
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.core.timezones import to_utc, windows_name

# Our single-value extended property: "{org}/{appointment}" on every event we write.
PROPERTY_ID = "String {8f7a3c1e-2b4d-4e6f-9a0b-c1d2e3f4a5b6} Name calsyncAppointment"
_TXN_NAMESPACE = uuid.UUID("5f0c1d2e-3a4b-4c5d-8e9f-a0b1c2d3e4f5")
# The Graph fields of an event we write and compare (a PATCH sends only those that changed).
COMPARED = (
    "subject",
    "body",
    "start",
    "end",
    "isAllDay",
    "location",
    "sensitivity",
    "attendees",
    "recurrence",
    "isOnlineMeeting",
    "onlineMeetingProvider",
)
# The booking-side fields a change reports.
FIELDS = ("title", "start", "end", "isAllDay", "location", "body", "isPrivate")
# A booking-side field → the Graph field we write it as.
GRAPH_FIELDS = {
    "title": "subject",
    "start": "start",
    "end": "end",
    "isAllDay": "isAllDay",
    "location": "location",
    "body": "body",
    "isPrivate": "sensitivity",
}


@dataclass(frozen=True)
class Desired:
    """The appointment as the booking product last sent it."""

    org: str
    appointment: str
    title: str
    start: str  # wall-clock ISO in time_zone, no offset
    end: str
    time_zone: str
    is_all_day: bool = False
    location: str = ""
    body: str = ""
    is_private: bool = False
    online_meeting: bool = False
    organizer: str | None = None
    attendees: tuple[str, ...] = ()
    guests: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    push: bool = True
    deleted: bool = False
    recurrence: dict[str, Any] | None = None  # Graph's patternedRecurrence (range from `start`)
    occurrences: dict[str, dict[str, Any]] = field(default_factory=dict)  # date → override


def property_value(org: str, appointment: str) -> str:
    return f"{org}/{appointment}"


def tagged_appointment(org: str, tag: str | None) -> str | None:
    """The appointment our property names, when it is this org's (else None)."""
    prefix = f"{org}/"
    return tag[len(prefix) :] if tag and tag.startswith(prefix) else None


def transaction_id(org: str, appointment: str, mailbox: str, generation: int) -> str:
    """Deterministic per target and generation: a retried create cannot duplicate."""
    return str(uuid.uuid5(_TXN_NAMESPACE, f"{org}\x1f{appointment}\x1f{mailbox}\x1f{generation}"))


def minted_id(mailbox: str, event_id: str) -> str:
    """The appointment id we give an event made in Outlook (stable across retries)."""
    return "outlook-" + hashlib.sha256(f"{mailbox}/{event_id}".encode()).hexdigest()[:20]


def meeting_id(ical_uid: str) -> str:
    """The appointment id of a meeting made in Outlook: the same from every mailbox holding a
    copy (organizer, attendees, rooms), which all carry its iCalUId."""
    return "outlook-" + hashlib.sha256(f"ical/{ical_uid}".encode()).hexdigest()[:20]


def attendee(address: str, name: str, kind: str) -> dict[str, Any]:
    return {"emailAddress": {"address": address, "name": name or address}, "type": kind}


def event_body(desired: Desired, role: str, attendees: list[dict[str, Any]], location: str) -> dict[str, Any]:
    tz = windows_name(desired.time_zone)
    event: dict[str, Any] = {
        "subject": desired.title,
        "body": {"contentType": "text", "content": desired.body},
        "start": {"dateTime": desired.start, "timeZone": tz},
        "end": {"dateTime": desired.end, "timeZone": tz},
        "isAllDay": desired.is_all_day,
        "location": {"displayName": location},
        "sensitivity": "private" if desired.is_private else "normal",
    }
    if role == "organizer":
        event["attendees"] = attendees
        if desired.online_meeting:
            # Only the organizer's meeting: per-calendar copies would each get their own
            # Teams meeting. Once online Outlook keeps it so (event.md, isOnlineMeeting), so
            # turning it off sends nothing.
            event["isOnlineMeeting"] = True
            event["onlineMeetingProvider"] = "teamsForBusiness"
    if desired.recurrence is not None:
        event["recurrence"] = desired.recurrence
    return event


def same(field: str, old: Any, new: Any) -> bool:
    """Whether a written field still says what we would write now."""
    if field == "attendees":

        def key(items: Any) -> list[tuple[str, str]]:
            return sorted((a["emailAddress"]["address"].lower(), a["type"]) for a in items or [])

        return key(old) == key(new)
    return old == new


def _body_text(body: dict[str, Any], online: bool) -> str:
    text = _text(body)
    return without_join_block(text) if online else text


def _text(body: dict[str, Any]) -> str:
    """An itemBody as flat text. Its contentType says whether it is HTML: a text body may say
    `a<b and c>d` (we ask Graph for text bodies, so most reads are text)."""
    value = str(body.get("content") or "")
    if str(body.get("contentType") or "").lower() == "html":
        value = html.unescape(re.sub(r"<[^>]+>", " ", value))
    return re.sub(r"\s+", " ", value).strip()


# Exchange writes a Teams join block at the end of an online meeting's body: a line of
# underscores, the join link and meeting options, another line (docs-contrib
# concepts/outlook-calendar-online-meetings.md, the 201 example). It is not the body anyone
# wrote, so comparisons leave it out; calsync writes one back with a body it sends.
_JOIN_BLOCK = re.compile(r"\s*_{30,}\s.*\bTeams\b.*$", re.DOTALL)


def without_join_block(text: str) -> str:
    """A flattened body (`_text`) without the Teams join block at its end."""
    return _JOIN_BLOCK.sub("", text)


def join_block_html(join_url: str) -> str:
    """The join block calsync writes after a body it sends to an online meeting (a PATCH of
    the body replaces Exchange's own)."""
    line = "<p>" + "_" * 80 + "</p>"
    link = html.escape(join_url, quote=True)
    return f'{line}<p><a href="{link}">Join Microsoft Teams Meeting</a></p>{line}'


def _utc(value: str, all_day: bool) -> str:
    value = value[:19]
    return value[:10] if all_day else value + "Z"


def normalize(item: dict[str, Any]) -> dict[str, Any]:
    """A delta/GET event (UTC times, as we ask for them) → the fields we compare."""
    all_day = bool(item.get("isAllDay"))
    body = item.get("body") or {}
    return {
        "title": item.get("subject") or "",
        "start": _utc((item.get("start") or {}).get("dateTime", ""), all_day),
        "end": _utc((item.get("end") or {}).get("dateTime", ""), all_day),
        "isAllDay": all_day,
        "location": ((item.get("location") or {}).get("displayName") or "").strip(),
        "body": _body_text(body, bool(item.get("isOnlineMeeting") or item.get("onlineMeeting"))),
        "isPrivate": item.get("sensitivity") in ("private", "confidential"),
        "isCancelled": bool(item.get("isCancelled")),
        "joinUrl": (item.get("onlineMeeting") or {}).get("joinUrl"),
        "isOrganizer": bool(item.get("isOrganizer")),
        "iCalUId": item.get("iCalUId"),
        "organizer": (((item.get("organizer") or {}).get("emailAddress") or {}).get("address") or "").lower(),
        "attendees": {
            ((a.get("emailAddress") or {}).get("address") or "").lower(): (a.get("status") or {}).get(
                "response", "none"
            )
            for a in item.get("attendees") or []
        },
    }


def written_content(written: dict[str, Any]) -> dict[str, Any]:
    """What we sent to Graph (a target's `written`) → the same comparable fields."""
    all_day = bool(written.get("isAllDay"))

    def when(key: str) -> str:
        value = written.get(key) or {}
        local = value.get("dateTime", "")
        if not local:
            return ""
        if all_day:
            return local[:10]
        return to_utc(datetime.fromisoformat(local[:19]), value.get("timeZone") or "UTC").strftime("%Y-%m-%dT%H:%M:%SZ")

    return {
        "title": written.get("subject", ""),
        "start": when("start"),
        "end": when("end"),
        "isAllDay": all_day,
        "location": ((written.get("location") or {}).get("displayName") or "").strip(),
        "body": without_join_block(_text(written.get("body") or {})),
        "isPrivate": written.get("sensitivity") == "private",
    }


def desired_content(desired: Desired) -> dict[str, Any]:
    """What the booking product wants now, as the comparable fields."""
    return written_content(event_body(desired, "copy", [], desired.location))


def values(content: dict[str, Any]) -> dict[str, Any]:
    """The booking-side fields of a normalized event (what a change reports), and an online
    meeting's join URL (reported, never compared: Graph makes it, we do not write it)."""
    out = {k: content[k] for k in FIELDS}
    if content.get("joinUrl"):
        out["joinUrl"] = content["joinUrl"]
    return out
