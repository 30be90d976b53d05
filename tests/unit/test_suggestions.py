"""Finding a time and a room (shared/core/suggestions.py, pure): the rules one by one, and a
hypothesis test that checks every suggestion over random calendars against the calendars
themselves — each block and working day read directly, not through the planner's index."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.core.errors import InvalidInput
from shared.core.suggestions import (
    Block,
    Calendar,
    Room,
    calendar,
    grid,
    parse_request,
    people,
    ranked,
    room_matches,
    with_rooms,
)

MONDAY = "2026-12-07"
WORKDAY = {
    "daysOfWeek": ["monday", "tuesday", "wednesday", "thursday", "friday"],
    "startTime": "09:00:00.0000000",
    "endTime": "17:00:00.0000000",
    "timeZone": {"name": "UTC"},
}


def body(**kw: Any) -> dict[str, Any]:
    return {"durationMinutes": 60, "start": f"{MONDAY}T00:00:00Z", "end": f"{MONDAY}T23:59:00Z", **kw}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def info(*blocks: tuple[str, str, str], hours: dict[str, Any] | None = WORKDAY) -> dict[str, Any]:
    items = [
        {
            "status": status,
            "start": {"dateTime": f"{MONDAY}T{s}:00.0000000", "timeZone": "UTC"},
            "end": {"dateTime": f"{MONDAY}T{e}:00.0000000", "timeZone": "UTC"},
        }
        for status, s, e in blocks
    ]
    return {"scheduleItems": items, **({"workingHours": hours} if hours else {})}


def starts(request: Any, calendars: dict[str, Calendar], rooms: list[tuple[Room, Calendar]] = ()) -> list[str]:
    chosen, _ = with_rooms(request, ranked(request, people(request, calendars)), list(rooms))
    return [s.start.strftime("%H:%M") for s in chosen]


def test_the_required_are_free_inside_their_working_hours_and_the_earliest_comes_first() -> None:
    request = parse_request(body(required=["ada", "bo"], maxSuggestions=3))
    calendars = {"ada": calendar(info(("busy", "09:00", "10:30"))), "bo": calendar(info(("oof", "11:30", "12:00")))}
    assert starts(request, calendars) == ["10:30", "12:00", "12:30"]


def test_tentative_and_unknown_block_working_elsewhere_does_not() -> None:
    request = parse_request(body(required=["ada"], maxSuggestions=1))
    blocks = (("tentative", "09:00", "10:00"), ("unknown", "10:00", "11:00"), ("workingElsewhere", "11:00", "12:00"))
    assert starts(request, {"ada": calendar(info(*blocks))}) == ["11:00"]


def test_working_hours_are_read_in_the_workers_own_zone() -> None:
    oslo = {**WORKDAY, "timeZone": {"name": "W. Europe Standard Time"}}  # 09:00 Oslo is 08:00 UTC in December
    request = parse_request(body(required=["ada"], maxSuggestions=1))
    assert starts(request, {"ada": calendar(info(hours=oslo))}) == ["08:00"]
    weekend = parse_request(body(required=["ada"], start="2026-12-12T00:00:00Z", end="2026-12-13T23:00:00Z"))
    assert starts(weekend, {"ada": calendar(info())}) == []  # Saturday and Sunday: not working days


def test_no_working_hours_means_any_time_and_a_block_we_cannot_place_means_none() -> None:
    request = parse_request(body(required=["ada"], maxSuggestions=1))
    assert starts(request, {"ada": calendar(info(hours=None))}) == ["00:00"]
    garbled = {"scheduleItems": [{"status": "busy", "start": "soon", "end": None}]}
    assert starts(request, {"ada": calendar(garbled)}) == []


def test_slots_are_ranked_by_the_optional_workers_who_can_come() -> None:
    request = parse_request(body(required=["ada"], optional=["bo", "cy"], maxSuggestions=2))
    calendars = {
        "ada": calendar(info()),
        "bo": calendar(info(("busy", "09:00", "14:00"))),
        "cy": calendar(info(("oof", "09:00", "15:00"))),
    }
    ranked_slots = ranked(request, people(request, calendars))
    best = ranked_slots[0]
    assert (best.start, best.optional_free) == (at(f"{MONDAY}T15:00:00Z"), ("bo", "cy"))
    first_of_day = next(s for s in ranked_slots if s.start == at(f"{MONDAY}T09:00:00Z"))
    assert first_of_day.optional_busy == (("bo", "busy"), ("cy", "oof"))
    # An optional worker whose calendar could not be read never counts as coming.
    unread = ranked(request, people(request, {k: v for k, v in calendars.items() if k != "cy"}))
    assert all("cy" not in s.optional_free for s in unread)
    assert ("cy", "calendar_unavailable") in unread[0].optional_busy


def test_the_grid_counts_from_midnight_in_the_asked_zone() -> None:
    request = parse_request(
        body(required=["ada"], start="2026-12-07T09:10:00", end="2026-12-07T11:00:00", timeZone="Asia/Kolkata")
    )
    # 09:10 in Kolkata (UTC+05:30): the first half hour of its grid is 09:30 there, 04:00 UTC.
    assert [s.astimezone(ZoneInfo("Asia/Kolkata")).strftime("%H:%M") for s in grid(request)] == ["09:30", "10:00"]


def room(resource: str, capacity: int | None, **kw: Any) -> Room:
    return Room(resource, f"{resource}@contoso.test", resource.title(), capacity, **kw)


def test_rooms_match_every_filter_and_come_smallest_that_fits_first() -> None:
    wanted = parse_request(
        body(required=["ada"], room={"capacity": 6, "building": "hq", "features": ["Video"], "floor": "2"})
    ).room
    assert wanted is not None
    good = room("fuji", 8, building="HQ", floor="2", tags=("video", "whiteboard"))
    assert room_matches(good, wanted)
    assert not room_matches(room("tiny", 4, building="HQ", floor="2", tags=("video",)), wanted)
    assert not room_matches(room("annex", 8, building="Annex", floor="2", tags=("video",)), wanted)
    assert not room_matches(room("bare", 8, building="HQ", floor="2"), wanted)
    assert not room_matches(room("upstairs", 8, building="HQ", floor="3", tags=("video",)), wanted)
    assert not room_matches(room("unknown", None, building="HQ", floor="2", tags=("video",)), wanted)
    assert not room_matches(room("desk", 8, building="HQ", floor="2", tags=("video",), reservable=False), wanted)
    anyroom = parse_request(body(room={})).room
    assert anyroom is not None and room_matches(room("unknown", None), anyroom)  # nothing to fit

    request = parse_request(body(required=["ada"], room={"capacity": 4}, roomsPerSuggestion=2, maxSuggestions=1))
    rooms = sorted([room("big", 20), room("small", 4), room("mid", 8)], key=Room.fit)
    cals = [(r, calendar(info(("busy", "09:00", "10:00") if r.resource == "small" else ("free", "09:00", "10:00"))))
            for r in rooms]  # fmt: skip
    chosen, settled = with_rooms(request, ranked(request, people(request, {"ada": calendar(info())})), cals)
    assert [r.resource for r in chosen[0].rooms] == ["mid", "big"] and settled


def test_a_slot_without_a_room_is_not_suggested_and_asking_more_rooms_is_needed_until_settled() -> None:
    request = parse_request(body(required=["ada"], room={}, maxSuggestions=2, roomsPerSuggestion=1))
    slots = ranked(request, people(request, {"ada": calendar(info())}))
    busy_morning = [(room("fuji", 8), calendar(info(("busy", "09:00", "12:00"))))]
    chosen, settled = with_rooms(request, slots, busy_morning)
    assert [s.start.strftime("%H:%M") for s in chosen] == ["12:00", "12:30"]
    assert not settled  # the best slots (09:00, 09:30) have no room yet: another room could free them
    free = [*busy_morning, (room("kili", 12), calendar(info()))]
    chosen, settled = with_rooms(request, slots, free)
    assert [(s.start.strftime("%H:%M"), s.rooms[0].resource) for s in chosen] == [("09:00", "kili"), ("09:30", "kili")]
    assert settled


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"required": ["ada"], "optional": ["ada"]}, "optional"),
        ({"durationMinutes": 120, "end": f"{MONDAY}T01:00:00Z"}, "durationMinutes"),
        ({"end": f"{MONDAY}T00:00:00Z"}, "end"),
        ({"end": "2027-03-01T00:00:00Z"}, "end"),
        ({"timeZone": "Mars/Olympus"}, "timeZone"),
        ({"required": []}, "required"),
        ({"stepMinutes": 1}, "stepMinutes"),
        ({"room": {"capacity": 0}}, "room.capacity"),
        ({"maxSuggestions": 0}, "maxSuggestions"),
    ],
)
def test_a_bad_request_names_its_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_request(body(required=["ada"], **change) if "required" not in change else body(**change))
    assert caught.value.field == field


# -- every suggestion, checked against random calendars --------------------------------------
ZONES = ["UTC", "Europe/Oslo", "America/New_York", "Asia/Kolkata"]
DAY0 = datetime(2026, 12, 7, tzinfo=UTC)  # a Monday
STATUSES = ["busy", "tentative", "oof", "unknown", "workingElsewhere", "free"]


@st.composite
def blocks(draw: st.DrawFn) -> list[Block]:
    out = []
    for _ in range(draw(st.integers(0, 6))):
        start = DAY0 + timedelta(minutes=15 * draw(st.integers(0, 4 * 24 * 3)))
        out.append(
            Block(start, start + timedelta(minutes=15 * draw(st.integers(1, 16))), draw(st.sampled_from(STATUSES)))
        )
    return out


@st.composite
def hours(draw: st.DrawFn) -> dict[str, Any] | None:
    if draw(st.booleans()):
        return None
    days = draw(st.lists(st.sampled_from(["monday", "tuesday", "wednesday", "saturday"]), min_size=1, unique=True))
    begin = draw(st.integers(0, 12))
    return {
        "daysOfWeek": days,
        "startTime": f"{begin:02}:00:00.0000000",
        "endTime": f"{begin + draw(st.integers(1, 11)):02}:00:00.0000000",
        "timeZone": {"name": draw(st.sampled_from(ZONES))},
    }


def as_info(found: list[Block], wh: dict[str, Any] | None) -> dict[str, Any]:
    def graph(t: datetime) -> dict[str, str]:
        return {"dateTime": t.strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": "UTC"}

    items = [{"status": b.status, "start": graph(b.start), "end": graph(b.end)} for b in found]
    return {"scheduleItems": items, **({"workingHours": wh} if wh else {})}


def free_in(found: list[Block], start: datetime, end: datetime) -> bool:
    return not any(b.start < end and start < b.end for b in found if b.status not in ("free", "workingElsewhere"))


def working(wh: dict[str, Any] | None, start: datetime, end: datetime) -> bool:
    if wh is None:
        return True
    tz = ZoneInfo(wh["timeZone"]["name"])
    a, b = start.astimezone(tz), end.astimezone(tz)
    begin, until = wh["startTime"][:5], wh["endTime"][:5]  # the strategy's hours end before midnight
    return (
        a.strftime("%A").lower() in wh["daysOfWeek"]
        and a.date() == b.date()
        and begin <= a.strftime("%H:%M")
        and b.strftime("%H:%M") <= until
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.data(),
    n_required=st.integers(0, 3),
    n_optional=st.integers(0, 3),
    n_rooms=st.integers(0, 4),
    zone_name=st.sampled_from(ZONES),
    duration=st.sampled_from([15, 30, 60, 90]),
    step=st.sampled_from([15, 30, 60]),
)
def test_every_suggestion_holds_against_the_calendars(
    data: st.DataObject, n_required: int, n_optional: int, n_rooms: int, zone_name: str, duration: int, step: int
) -> None:
    required = [f"r{n}" for n in range(n_required)]
    optional = [f"o{n}" for n in range(n_optional)]
    cals = {w: (data.draw(blocks()), data.draw(hours())) for w in required + optional}
    room_asked = n_rooms > 0 or (not required and not optional)
    capacity = data.draw(st.integers(1, 10))
    rooms = [(room(f"room{n}", data.draw(st.integers(1, 12))), data.draw(blocks())) for n in range(n_rooms)]
    request = parse_request(
        {
            "required": required,
            "optional": optional,
            "durationMinutes": duration,
            "start": "2026-12-07T00:00:00Z",
            "end": "2026-12-10T00:00:00Z",
            "timeZone": zone_name,
            "stepMinutes": step,
            "maxSuggestions": 5,
            "roomsPerSuggestion": 2,
            **({"room": {"capacity": capacity}} if room_asked else {}),
        }
    )
    calendars = {w: calendar(as_info(*c)) for w, c in cals.items()}
    matching = sorted([r for r in rooms if request.room and room_matches(r[0], request.room)], key=lambda r: r[0].fit())
    room_cals = [(r, calendar(as_info(b, None))) for r, b in matching]
    chosen, settled = with_rooms(request, ranked(request, people(request, calendars)), room_cals)
    assert settled or len(chosen) <= request.count

    def ok_for(w: str, s: datetime, e: datetime) -> bool:
        found, wh = cals[w]
        return free_in(found, s, e) and working(wh, s, e)

    def rooms_free(s: datetime, e: datetime) -> list[str]:
        return [r.resource for r, b in matching if free_in(b, s, e)]

    for slot in chosen:
        assert slot.end - slot.start == timedelta(minutes=duration)
        assert request.start <= slot.start and slot.end <= request.end
        local = slot.start.astimezone(ZoneInfo(zone_name))
        assert (local.hour * 60 + local.minute) % step == 0  # on the grid
        assert all(ok_for(w, slot.start, slot.end) for w in required)
        assert all(ok_for(w, slot.start, slot.end) for w in slot.optional_free)
        assert all(not ok_for(w, slot.start, slot.end) for w, _ in slot.optional_busy)
        assert set(slot.optional_free) | {w for w, _ in slot.optional_busy} == set(optional)
        if room_asked:
            free = rooms_free(slot.start, slot.end)
            assert slot.rooms and [r.resource for r in slot.rooms] == free[:2]  # best fit first
            assert all(r.capacity is not None and r.capacity >= capacity for r in slot.rooms) or capacity == 1
    keys = [(-len(s.optional_free), s.start) for s in chosen]
    assert keys == sorted(keys)  # most optional workers first, then the earliest
    # Nothing better was left out: every slot on the grid that qualifies and ranks above the
    # last suggestion is suggested (and with fewer than asked for, every one that qualifies).
    qualifying = []
    for start in grid(request):
        end = start + request.duration
        if all(ok_for(w, start, end) for w in required) and (not room_asked or rooms_free(start, end)):
            qualifying.append((-sum(ok_for(w, start, end) for w in optional), start))
    qualifying.sort()
    assert keys == qualifying[: request.count]
