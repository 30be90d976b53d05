"""Free/busy: `POST /users/{id}/calendar/getSchedule` from the mailboxes' own events.

Sources (paths in microsoftgraph/microsoft-graph-docs-contrib):
- api-reference/v1.0/api/calendar-getschedule.md: the body (`schedules`, `startTime`,
  `endTime`, `availabilityViewInterval` "default is 30 minutes, minimum is 5, maximum is
  1440"), `Prefer: outlook.timezone` for the answer's times ("If not specified … UTC"), one
  scheduleInformation per schedule asked for.
- api-reference/v1.0/resources/scheduleinformation.md (availabilityView digits `0` free,
  `1` tentative, `2` busy, `3` out of office, `4` working elsewhere; `error`; `workingHours`
  from mailboxSettings), scheduleitem.md (status, start, end; subject, location, isPrivate
  optional), freebusyerror.md (`message`, `responseCode`), workinghours.md.
- concepts/outlook-get-free-busy-schedule.md: "up to 20 entities at once", "The time period
  … must be less than 62 days", an unknown user or resource "returns a single schedule item
  and indicates the error"; subject, location and isPrivate only for events of sensitivity
  `normal` or `personal`; its example names the body's properties in PascalCase and sends
  the interval as a string ("15"), so both are read.
- ISSUE microsoftgraph/microsoft-graph-docs-contrib#5895: Graph's real limit is 100
  (`ErrorMailboxDataArrayTooBig`); the emulator keeps the documented 20 (less forgiving).
- ISSUE microsoftgraph/microsoft-graph-docs#11225: what an unresolvable address answers
  (`responseCode` "5009", "Unable to resolve e-mail address … to an Active Directory object.").
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from devtools.graph_emulator.calendar import series
from devtools.graph_emulator.calendar.models import Event
from devtools.graph_emulator.core.errors import GraphError
from devtools.graph_emulator.core.times import fmt, parse_dt
from devtools.graph_emulator.core.world import World
from devtools.graph_emulator.directory.models import Tenant
from devtools.graph_emulator.directory.working_hours import working_hours
from shared.core.timezones import zone

MAX_SCHEDULES = 20  # concepts/outlook-get-free-busy-schedule.md (Graph itself takes 100: ISSUE #5895)
MAX_RANGE = timedelta(days=62)  # "must be less than 62 days" (same page)
INTERVAL_DEFAULT, INTERVAL_MIN, INTERVAL_MAX = 30, 5, 1440  # calendar-getschedule.md
DIGITS = {"free": "0", "tentative": "1", "busy": "2", "oof": "3", "workingElsewhere": "4"}
# Which status a slot shows when several items overlap it: docs silent; the strongest wins.
STRENGTH = {"free": 0, "unknown": 0, "workingElsewhere": 1, "tentative": 2, "busy": 3, "oof": 4}
UNRESOLVED_CODE = "5009"  # ISSUE microsoft-graph-docs#11225


def _interval(value: Any) -> int:
    if value is None:
        return INTERVAL_DEFAULT
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)  # the concepts page's example sends "15"
    if isinstance(value, bool) or not isinstance(value, int) or not INTERVAL_MIN <= value <= INTERVAL_MAX:
        raise GraphError(
            400,
            "ErrorInvalidParameter",
            f"availabilityViewInterval must be between {INTERVAL_MIN} and {INTERVAL_MAX} minutes.",
        )
    return value


def _schedules(value: Any) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(s, str) and s.strip() for s in value):
        raise GraphError(400, "ErrorInvalidParameter", "schedules must be a non-empty collection of SMTP addresses.")
    if len(value) > MAX_SCHEDULES:
        # The code as Graph sends it (ISSUE #5895); the size the documented one.
        raise GraphError(
            400,
            "ErrorMailboxDataArrayTooBig",
            f"There are too many target users in the EmailAddress array. The allowed size = {MAX_SCHEDULES}; "
            f"the actual size = {len(value)}.",
        )
    return value


def answer(world: World, tenant: Tenant, body: Any, tz: str) -> list[dict[str, Any]]:
    """The `value` of getSchedule's answer: one scheduleInformation per address, in order."""
    if not isinstance(body, dict):
        raise GraphError(400, "BadRequest", "Empty Payload. JSON content expected.")
    given = {str(k).lower(): v for k, v in body.items()}  # `schedules` and `Schedules` (both documented)
    addresses = _schedules(given.get("schedules"))
    start, _ = parse_dt(given.get("starttime"), "startTime")
    end, _ = parse_dt(given.get("endtime"), "endTime")
    if end <= start:
        raise GraphError(400, "ErrorInvalidParameter", "endTime must be after startTime.")
    if end - start >= MAX_RANGE:
        raise GraphError(
            400, "ErrorInvalidParameter", "The time period to look up must be less than 62 days."
        )  # code and wording: docs silent
    interval = timedelta(minutes=_interval(given.get("availabilityviewinterval")))
    return [_one(world, tenant, address, start, end, interval, tz) for address in addresses]


def _one(
    world: World, tenant: Tenant, address: str, start: datetime, end: datetime, interval: timedelta, tz: str
) -> dict[str, Any]:
    user = tenant.find_by_smtp(address.strip())
    if user is None or not user.has_mailbox:
        # "returns a single schedule item and indicates the error" (concepts page); the shape
        # and code as Graph answers (ISSUE microsoft-graph-docs#11225). A user without a
        # mailbox has no SMTP address Exchange could resolve (docs silent).
        return {
            "scheduleId": address,
            "error": {
                "message": f"Unable to resolve e-mail address {address} to an Active Directory object.",
                "responseCode": UNRESOLVED_CODE,
            },
        }
    items = [
        ev
        for ev in series.view(world, user.id, start, end)  # singles, occurrences, exceptions: never masters
        if not ev.is_cancelled and ev.start < end and start < ev.end  # exact overlap (no all-day slack)
    ]
    return {
        "scheduleId": address,
        "availabilityView": _view(items, start, end, interval),
        "scheduleItems": [_item(ev, tz) for ev in items],
        "workingHours": working_hours(user),
    }


def _view(items: list[Event], start: datetime, end: datetime, interval: timedelta) -> str:
    slots = math.ceil((end - start) / interval)
    out = []
    for n in range(slots):
        s, e = start + n * interval, min(start + (n + 1) * interval, end)
        here = [ev.show_as for ev in items if ev.start < e and s < ev.end]
        strongest = max(here, key=lambda status: STRENGTH.get(status, 0), default="free")
        out.append(DIGITS.get(strongest, "0"))
    return "".join(out)


def _item(ev: Event, tz: str) -> dict[str, Any]:
    local = zone(tz)
    item: dict[str, Any] = {"status": ev.show_as}
    if ev.sensitivity in ("normal", "personal"):
        # concepts page, "Event data returned": details only for low sensitivity.
        item.update({"isPrivate": False, "subject": ev.subject, "location": ev.location})
    else:
        item["isPrivate"] = True  # scheduleitem.md: "True if the event is marked private"
    item["start"] = {"dateTime": fmt(ev.start.astimezone(local).replace(tzinfo=None)), "timeZone": tz}
    item["end"] = {"dateTime": fmt(ev.end.astimezone(local).replace(tzinfo=None)), "timeZone": tz}
    return item
