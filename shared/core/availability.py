"""Free/busy for booking (pure): the request checked, Graph's scheduleInformation turned
into our answer in the asked time zone.

Graph's limits (microsoftgraph/microsoft-graph-docs-contrib): concepts/outlook-get-free-busy-schedule.md
— "up to 20 entities at once", "The time period … must be less than 62 days";
api-reference/v1.0/api/calendar-getschedule.md — availabilityViewInterval 5–1440, default 30.
Graph is asked in UTC (`Prefer: outlook.timezone="UTC"`); the times are converted here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.core import date_range
from shared.core.api_availability import MAX_RANGE_DAYS, AvailabilityBody
from shared.core.api_check import checked
from shared.core.errors import InvalidInput, UnknownTimeZone
from shared.core.timezones import graph_instant, zone

MAX_SCHEDULES_PER_CALL = 20  # the documented getSchedule limit (Graph itself takes 100: docs-contrib#5895)
MAX_RANGE = timedelta(days=MAX_RANGE_DAYS)


@dataclass(frozen=True)
class AvailabilityRequest:
    workers: list[str]  # without repeats, in the order given
    resources: list[str]
    start: datetime  # aware, UTC
    end: datetime
    time_zone: str  # as given (IANA or Windows)
    interval_minutes: int


@dataclass(frozen=True)
class Owner:
    """A worker or resource whose mailbox is asked."""

    kind: str  # worker | resource
    id: str

    def named(self, **fields: Any) -> dict[str, Any]:
        return {self.kind: self.id, **fields}


def parse_request(body: dict[str, Any]) -> AvailabilityRequest:
    """Every field checked, naming the bad one (InvalidInput); no I/O."""
    m = checked(AvailabilityBody, body)
    start, end = period(m.time_zone, m.start, m.end)
    workers, resources = list(dict.fromkeys(m.workers)), list(dict.fromkeys(m.resources))
    if not workers and not resources:
        raise InvalidInput("workers", "name at least one worker or resource")
    return AvailabilityRequest(workers, resources, start, end, m.time_zone, m.interval_minutes)


def period(time_zone: str, start_text: str, end_text: str) -> tuple[datetime, datetime]:
    """A request's [start, end) in UTC: the zone known, end after start, under Graph's 62 days."""
    try:
        tz = zone(time_zone)
    except UnknownTimeZone as exc:
        raise InvalidInput("timeZone", f"timeZone: {exc}") from None
    start, end = request_instant("start", start_text, tz), request_instant("end", end_text, tz)
    if end <= start:
        raise InvalidInput("end", "end must be after start")
    if end - start >= MAX_RANGE:
        raise InvalidInput("end", f"the period must be shorter than {MAX_RANGE_DAYS} days (Graph's limit)")
    return start, end


def request_instant(name: str, value: str, tz: Any) -> datetime:
    """ISO 8601; without an offset, wall-clock time in the asked zone → aware UTC."""
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(name, f"{name}: {value!r} is not an ISO 8601 date-time") from None
    date_range.check(name, parsed)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    return parsed.astimezone(UTC).replace(microsecond=0)


def chunks(items: list[Any], size: int = MAX_SCHEDULES_PER_CALL) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def local_text(at: datetime, tz_name: str) -> str:
    """An instant as ISO 8601 in the asked zone, with that zone's offset."""
    return at.astimezone(zone(tz_name)).isoformat(timespec="seconds")


def graph_time(value: Any) -> datetime:
    """A dateTimeTimeZone Graph answered (in UTC, as asked) → aware UTC."""
    moment = graph_instant(value)
    if moment is None:
        raise ValueError(f"not a dateTimeTimeZone: {value!r}")
    return moment


def _time_of_day(value: Any) -> str:
    return str(value or "")[:8]  # Edm.TimeOfDay "08:00:00.0000000" → "08:00:00"


def _zone_name(tz: Any) -> str:
    """timeZoneBase → an IANA name when it maps to one (a Windows name does); else as given
    (a customTimeZone is "Customized Time Zone", workinghours.md)."""
    name = (tz or {}).get("name") if isinstance(tz, dict) else None
    if not name:
        return ""
    try:
        key = zone(name).key
    except UnknownTimeZone:
        return str(name)
    return "UTC" if key in ("UTC", "Etc/UTC") else key


def working_hours(value: Any) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        return None
    return {
        "daysOfWeek": [str(d) for d in value.get("daysOfWeek") or []],
        "startTime": _time_of_day(value.get("startTime")),
        "endTime": _time_of_day(value.get("endTime")),
        "timeZone": _zone_name(value.get("timeZone")),
    }


def _block(item: dict[str, Any], tz_name: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "status": item.get("status") or "unknown",
        "start": local_text(graph_time(item.get("start")), tz_name),
        "end": local_text(graph_time(item.get("end")), tz_name),
    }
    for key in ("subject", "location"):
        if item.get(key):
            out[key] = item[key]
    if isinstance(item.get("isPrivate"), bool):
        out["isPrivate"] = item["isPrivate"]
    return out


def schedule_entry(
    owner: Owner, address: str, info: dict[str, Any] | None, tz_name: str
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(the schedule view, None) or (None, the unavailable entry) for one asked mailbox.

    Free items are left out of `busy` (they block nothing; the availabilityView has them as 0).
    Statuses are compared in lower case: the concepts page's example writes "Busy"."""
    if info is None:
        return None, owner.named(code="graph_error", reason=f"Graph's answer did not include {address}")
    error = info.get("error")
    if isinstance(error, dict):
        message = error.get("message") or "Graph could not read the schedule"
        reason = f"{message} (responseCode {error.get('responseCode')})"
        return None, owner.named(code="free_busy_error", reason=reason)
    busy = []
    for item in info.get("scheduleItems") or []:
        status = status_of(item.get("status"))
        if status == "free":
            continue
        busy.append(_block({**item, "status": status}, tz_name))
    busy.sort(key=lambda b: (b["start"], b["end"]))
    view = owner.named(
        address=address,
        availabilityView=str(info.get("availabilityView") or ""),
        busy=busy,
        workingHours=working_hours(info.get("workingHours")),
    )
    return view, None


_STATUSES = {s.lower(): s for s in ("free", "tentative", "busy", "oof", "workingElsewhere", "unknown")}


def status_of(value: Any) -> str:
    return _STATUSES.get(str(value or "").lower(), "unknown")


def answer(
    request: AvailabilityRequest, schedules: list[dict[str, Any]], unavailable: list[dict[str, Any]]
) -> dict[str, Any]:
    """The API's answer: schedules and unavailable ones in the order they were asked for."""
    order = {("worker", w): n for n, w in enumerate(request.workers)}
    order.update({("resource", r): len(request.workers) + n for n, r in enumerate(request.resources)})

    def rank(entry: dict[str, Any]) -> int:
        kind = "worker" if "worker" in entry else "resource"
        return order.get((kind, entry[kind]), len(order))

    return {
        "start": local_text(request.start, request.time_zone),
        "end": local_text(request.end, request.time_zone),
        "timeZone": request.time_zone,
        "intervalMinutes": request.interval_minutes,
        "schedules": sorted(schedules, key=rank),
        "unavailable": sorted(unavailable, key=rank),
    }
