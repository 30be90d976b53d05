"""Find a time and a room (pure): the request checked, and the slots ranked from the
calendars getSchedule gave.

Graph's own `findMeetingTimes` takes delegated permissions only (GRAPH-FACTS.md §10), so an
app-only service computes suggestions from getSchedule. The rules:
- A slot starts on the request's grid (`stepMinutes` from midnight in its time zone) and lies
  inside [start, end).
- Every required worker is free for all of it — no block of status busy, tentative, oof or
  unknown touches it (workingElsewhere is working: free) — and it lies inside their working
  hours (Outlook's mailbox settings, in their own zone). Anyone without working hours in
  getSchedule's answer is taken as working at any time.
- An optional worker can come on the same terms; slots are ranked by how many can, then by
  time.
- With a room asked for: a room matches every filter given and is free for the whole slot
  (rooms have no working hours: a room policy that refuses an hour is the room's answer); a
  slot without one is not suggested; rooms come best fit first (smallest that seats everyone).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from itertools import islice
from typing import Any

from shared.core.api_check import checked
from shared.core.api_suggestions import SuggestionsBody
from shared.core.availability import graph_time, local_text, period, status_of
from shared.core.errors import InvalidInput, UnknownTimeZone
from shared.core.timezones import zone

BLOCKING = ("busy", "tentative", "oof", "unknown")  # workingElsewhere and free do not block
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")  # date.weekday() order


@dataclass(frozen=True)
class RoomFilter:
    capacity: int
    building: str | None
    floor: str | None
    features: tuple[str, ...]
    room_list: str | None
    resources: tuple[str, ...]


@dataclass(frozen=True)
class SuggestRequest:
    required: tuple[str, ...]
    optional: tuple[str, ...]
    duration: timedelta
    start: datetime  # aware, UTC
    end: datetime
    time_zone: str  # as given
    step: timedelta
    room: RoomFilter | None
    count: int
    rooms_per: int


def parse_request(body: dict[str, Any]) -> SuggestRequest:
    """Every field checked, naming the bad one (InvalidInput); no I/O."""
    m = checked(SuggestionsBody, body)
    start, end = period(m.time_zone, m.start, m.end)
    duration = timedelta(minutes=m.duration_minutes)
    if duration > end - start:
        raise InvalidInput("durationMinutes", "the meeting is longer than the period searched")
    required, optional = tuple(dict.fromkeys(m.required)), tuple(dict.fromkeys(m.optional))
    both = sorted(set(required) & set(optional))
    if both:
        raise InvalidInput("optional", f"worker(s) {', '.join(both)} are both required and optional")
    if not required and not optional and m.room is None:
        raise InvalidInput("required", "name at least one worker, or ask for a room")
    room = None
    if m.room is not None:
        r = m.room
        features = tuple(dict.fromkeys(f.strip().casefold() for f in r.features))
        room = RoomFilter(r.capacity, r.building, r.floor, features, r.room_list, tuple(dict.fromkeys(r.resources)))
    step = timedelta(minutes=m.step_minutes)
    return SuggestRequest(
        required, optional, duration, start, end, m.time_zone, step, room, m.max_suggestions, m.rooms_per_suggestion
    )


# -- calendars --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Block:
    start: datetime  # aware UTC
    end: datetime
    status: str


@dataclass(frozen=True)
class Hours:
    """Working hours: on `days` (date.weekday() numbers), from `start` to `end` in `tz` (an
    end not after the start runs past midnight)."""

    days: frozenset[int]
    start: time
    end: time
    tz: tzinfo


@dataclass
class Calendar:
    """One mailbox's blocking time, merged, and its working hours (None: any time)."""

    blocks: list[Block]
    hours: Hours | None = None
    _starts: list[datetime] = field(default_factory=list, repr=False)
    _ends: list[datetime] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self.blocks = sorted((b for b in self.blocks if b.status in BLOCKING and b.end > b.start), key=_by_start)
        merged: list[list[datetime]] = []
        for b in self.blocks:
            if merged and b.start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], b.end)
            else:
                merged.append([b.start, b.end])
        self._starts, self._ends = [m[0] for m in merged], [m[1] for m in merged]

    def free(self, start: datetime, end: datetime) -> bool:
        """No blocking block touches [start, end)."""
        n = bisect.bisect_right(self._ends, start)  # the first merged block ending after `start`
        return n == len(self._starts) or self._starts[n] >= end

    def why_busy(self, start: datetime, end: datetime) -> str | None:
        """The most telling status of a block in [start, end), else None."""
        found = {b.status for b in self.blocks if b.start < end and b.end > start}
        return next((s for s in ("oof", "busy", "tentative", "unknown") if s in found), None)


def _by_start(b: Block) -> tuple[datetime, datetime]:
    return (b.start, b.end)


def calendar(info: dict[str, Any]) -> Calendar:
    """A scheduleInformation Graph answered (times in UTC, as asked) → its Calendar."""
    blocks = []
    for item in info.get("scheduleItems") or []:
        if not isinstance(item, dict):
            continue
        try:
            start, end = graph_time(item.get("start")), graph_time(item.get("end"))
            blocks.append(Block(start, end, status_of(item.get("status"))))
        except ValueError:
            # A block we cannot place could hide any time: the mailbox counts as busy throughout.
            blocks.append(Block(datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC), "unknown"))
    return Calendar(blocks, working_hours(info.get("workingHours")))


def working_hours(value: Any) -> Hours | None:
    """workingHours (api-reference/v1.0/resources/workinghours.md) → Hours; None when absent,
    without days, or in a zone we cannot name (a customTimeZone): no limit then."""
    if not isinstance(value, dict):
        return None
    days = frozenset(DAYS.index(str(d).lower()) for d in value.get("daysOfWeek") or [] if str(d).lower() in DAYS)
    name = (value.get("timeZone") or {}).get("name") if isinstance(value.get("timeZone"), dict) else None
    try:
        tz = zone(name or "UTC")
        start, end = _time(value.get("startTime")), _time(value.get("endTime"))
    except (UnknownTimeZone, ValueError):
        return None
    return Hours(days, start, end, tz) if days else None


def _time(value: Any) -> time:
    return time.fromisoformat(str(value or "")[:8])  # Edm.TimeOfDay "08:00:00.0000000"


def working_spans(hours: Hours, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """The working hours that meet [start, end), in UTC, in order."""
    first, last = start.astimezone(hours.tz).date() - timedelta(days=1), end.astimezone(hours.tz).date()
    spans = []
    day: date = first
    while day <= last:
        if day.weekday() in hours.days:
            begin = datetime.combine(day, hours.start, hours.tz)
            until = datetime.combine(day if hours.end > hours.start else day + timedelta(days=1), hours.end, hours.tz)
            spans.append((begin.astimezone(UTC), until.astimezone(UTC)))
        day += timedelta(days=1)
    return spans


def _inside(spans: Sequence[tuple[datetime, datetime]], start: datetime, end: datetime) -> bool:
    return any(s <= start and end <= e for s, e in spans)


# -- rooms ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Room:
    """A linked room and its places data, as stored at import."""

    resource: str
    address: str
    name: str | None
    capacity: int | None
    building: str | None = None
    floor: str | None = None  # floorLabel, else floorNumber as text
    tags: tuple[str, ...] = ()
    room_list: str | None = None
    reservable: bool = True  # places' bookingType "reserved": first come, first served

    def fit(self) -> tuple[float, str, str]:
        """Best fit first: the smallest room that seats everyone (unknown capacity last)."""
        size = self.capacity if self.capacity is not None else float("inf")
        return (size, (self.name or "").casefold(), self.resource)


def room_matches(room: Room, wanted: RoomFilter) -> bool:
    """Every filter given holds (text compared without case). Unknown places data matches
    only what it need not say: a capacity of 1 and no building, floor or features."""
    if not room.reservable or (wanted.resources and room.resource not in wanted.resources):
        return False
    if wanted.capacity > 1 and (room.capacity is None or room.capacity < wanted.capacity):
        return False
    if wanted.building and (room.building or "").casefold() != wanted.building.casefold():
        return False
    if wanted.floor and (room.floor or "").casefold() != wanted.floor.casefold():
        return False
    if wanted.room_list and (room.room_list or "").casefold() != wanted.room_list.casefold():
        return False
    tags = {t.casefold() for t in room.tags}
    return all(f in tags for f in wanted.features)


# -- the slots ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Slot:
    start: datetime
    end: datetime
    optional_free: tuple[str, ...]
    optional_busy: tuple[tuple[str, str], ...]  # (worker, reason)
    rooms: tuple[Room, ...] = ()


def grid(request: SuggestRequest) -> list[datetime]:
    """Slot starts: on the step grid from midnight in the request's zone, the slot inside the period."""
    tz = zone(request.time_zone)
    local = request.start.astimezone(tz)
    midnight = datetime.combine(local.date(), time(0), tz).astimezone(UTC)
    step = request.step
    n = -((midnight - request.start) // step)  # the first grid point at or after the start
    out, at = [], midnight + n * step
    while at + request.duration <= request.end:
        out.append(at)
        at += step
    return out


@dataclass
class People:
    """The workers' calendars; an optional worker missing from `calendars` cannot come."""

    calendars: dict[str, Calendar]
    spans: dict[str, list[tuple[datetime, datetime]] | None] = field(default_factory=dict)

    def can_come(self, worker: str, start: datetime, end: datetime) -> bool:
        cal = self.calendars.get(worker)
        if cal is None or not cal.free(start, end):
            return False
        spans = self.spans.get(worker)
        return spans is None or _inside(spans, start, end)

    def why_not(self, worker: str, start: datetime, end: datetime) -> str:
        cal = self.calendars.get(worker)
        if cal is None:
            return "calendar_unavailable"  # named in the answer's `unavailable`, with why
        return cal.why_busy(start, end) or "outside_working_hours"


def people(request: SuggestRequest, calendars: dict[str, Calendar]) -> People:
    spans = {
        w: working_spans(c.hours, request.start, request.end) if c.hours is not None else None
        for w, c in calendars.items()
    }
    return People(calendars, spans)


def ranked(request: SuggestRequest, who: People) -> list[Slot]:
    """Every slot the required workers can all come to, best first: most optional workers
    who can come, then earliest. Rooms not yet considered."""
    out = []
    for start in grid(request):
        end = start + request.duration
        if not all(who.can_come(w, start, end) for w in request.required):
            continue
        free = tuple(w for w in request.optional if who.can_come(w, start, end))
        busy = tuple((w, who.why_not(w, start, end)) for w in request.optional if w not in free)
        out.append(Slot(start, end, free, busy))
    out.sort(key=lambda s: (-len(s.optional_free), s.start))
    return out


def with_rooms(
    request: SuggestRequest, slots: Iterable[Slot], rooms: Sequence[tuple[Room, Calendar]]
) -> tuple[list[Slot], bool]:
    """The suggestions, with up to `rooms_per` of `rooms` (asked in best-fit order) free for
    each; and whether asking more rooms (worse fits) could change them: False while one of the
    first `count` slots has fewer free rooms than wanted."""
    if request.room is None:
        return list(slots)[: request.count], True
    chosen: list[Slot] = []
    settled = True
    for n, slot in enumerate(slots):
        free = list(islice((r for r, cal in rooms if cal.free(slot.start, slot.end)), request.rooms_per))
        if n < request.count and len(free) < request.rooms_per:
            settled = False
        if free:
            chosen.append(Slot(slot.start, slot.end, slot.optional_free, slot.optional_busy, tuple(free)))
            if len(chosen) == request.count:
                break
    return chosen, settled


def view_slot(slot: Slot, tz_name: str, room_asked: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "start": local_text(slot.start, tz_name),
        "end": local_text(slot.end, tz_name),
        "optionalFree": list(slot.optional_free),
        "optionalBusy": [{"worker": w, "reason": r} for w, r in slot.optional_busy],
    }
    if room_asked:
        out["rooms"] = [_room_view(r) for r in slot.rooms]
    return out


def _room_view(room: Room) -> dict[str, Any]:
    out: dict[str, Any] = {"resource": room.resource, "name": room.name, "address": room.address}
    out["capacity"] = room.capacity
    if room.building:
        out["building"] = room.building
    if room.floor:
        out["floor"] = room.floor
    return out
