"""Find a time and a room: POST /api/orgs/{org}/suggestions.

Gather (the workers' free/busy and working hours, and the matching rooms' free/busy, from
getSchedule; the rooms' places data as the import stored it), plan (shared.core.suggestions,
pure), answer. Rooms are asked in best-fit order, 100 at a time (5 calls of 20), only until
the best slots each have the rooms wanted: a question about a 2,000-room org usually costs
one or two waves, never more calls than ceil(rooms matching / 20).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from shared.adapters.records import MailboxLink, ResourceLink
from shared.core.availability import Owner, schedule_entry
from shared.core.errors import Conflict, GraphUnavailable, InvalidInput
from shared.core.suggestions import (
    Calendar,
    Room,
    Slot,
    SuggestRequest,
    calendar,
    parse_request,
    people,
    ranked,
    room_matches,
    view_slot,
    with_rooms,
)
from shared.service.availability import links_of, read_schedules, refusal
from shared.service.orgs import require_org
from shared.service.ports import Services

ROOMS_PER_WAVE = 100  # 5 getSchedule calls of 20
RETRY_AFTER_S = 30  # Graph failed after the SDK's own retries: ask again in a while
INTERVAL = 30  # availabilityViewInterval: the view is not read, only scheduleItems


async def suggest(services: Services, org_id: str, body: dict[str, Any]) -> dict[str, Any]:
    request = parse_request(body)  # 400 before any I/O
    org = await require_org(services, org_id)
    owners = [Owner("worker", w) for w in (*request.required, *request.optional)]
    links = await links_of(services, org_id, owners)
    _check_required(request, owners, links)
    rooms = await _rooms(services, org_id, request) if request.room is not None else []
    # Times before now are never suggested; a period already over asks nothing of Graph.
    request = replace(request, start=max(request.start, services.clock.now().replace(microsecond=0)))
    if request.start + request.duration > request.end:
        return _answer(request, [], [], 0, rooms, 0)
    found = await read_schedules(
        services, org.m365_tenant_id, list(zip(owners, links, strict=True)), request.start, request.end, INTERVAL
    )
    calls, unavailable = found.calls, list(found.unavailable)
    calendars: dict[str, Calendar] = {}
    for owner, (address, info) in found.infos.items():
        _, refused = schedule_entry(owner, address, info, request.time_zone)
        if refused is not None:
            unavailable.append(refused)
        else:
            calendars[owner.id] = calendar(info)
    for entry in unavailable:
        if entry.get("worker") in request.required:
            # Not knowing a required worker's calendar, no time can be suggested.
            why = f"the calendar of required worker {entry['worker']!r} cannot be read: {entry['reason']}"
            if entry["code"] == "graph_unavailable":  # Graph busy or failing: the same question later
                raise GraphUnavailable(why, retry_after=RETRY_AFTER_S)
            raise Conflict(why, code="calendar_unavailable", field="required")
    slots = ranked(request, people(request, calendars))
    asked: list[tuple[Room, Calendar]] = []
    chosen, settled = with_rooms(request, slots, asked)
    done = 0  # rooms asked, in best-fit order
    while not settled and done < len(rooms):
        wave = await _room_calendars(services, org.m365_tenant_id, request, rooms[done : done + ROOMS_PER_WAVE])
        done += len(rooms[done : done + ROOMS_PER_WAVE])
        calls += wave.calls
        unavailable += wave.unavailable
        asked += wave.calendars
        chosen, settled = with_rooms(request, slots, asked)
    failed = [u for u in unavailable if "resource" in u]
    if slots and rooms and not asked and failed and all(u["code"] == "graph_unavailable" for u in failed):
        # Every room asked failed in Graph: "no free room" would be a wrong answer.
        raise GraphUnavailable("the rooms' calendars cannot be read now", retry_after=RETRY_AFTER_S)
    return _answer(request, chosen, unavailable, calls, rooms, done)


def _answer(
    request: SuggestRequest,
    chosen: list[Slot],
    unavailable: list[dict[str, Any]],
    calls: int,
    rooms: list[Any],
    done: int,
) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "timeZone": request.time_zone,
        "durationMinutes": int(request.duration.total_seconds() // 60),
        "suggestions": [view_slot(s, request.time_zone, request.room is not None) for s in chosen],
        "unavailable": unavailable,
        "graphCalls": calls,
    }
    if request.room is not None:
        answer["roomsMatching"], answer["roomsAsked"] = len(rooms), done
    return answer


def _check_required(request: SuggestRequest, owners: list[Owner], links: list[MailboxLink | None]) -> None:
    """Every required worker known and linked, else the request fails naming all of them."""
    unknown, unlinked = [], []
    for owner, link in zip(owners, links, strict=True):
        if owner.id in request.required and refusal(owner, link) is not None:
            (unknown if link is None else unlinked).append(owner.id)
    if unknown:
        names = ", ".join(unknown)
        raise InvalidInput("required", f"required worker(s) not known in the org: {names}", code="unknown_worker")
    if unlinked:
        names = ", ".join(unlinked)
        raise Conflict(
            f"required worker(s) without a linked mailbox (or a link in error): {names}",
            code="worker_not_linked",
            field="required",
            workers=unlinked,
        )


async def _rooms(services: Services, org_id: str, request: SuggestRequest) -> list[tuple[Room, ResourceLink]]:
    """The org's linked rooms that match the filters, best fit first (one partition read)."""
    assert request.room is not None
    out = []
    async for link in services.store.query(ResourceLink, org=org_id):
        if link.kind != "room" or link.status != "linked" or not link.m365_user_id or not link.account:
            continue
        room = _room(link)
        if room_matches(room, request.room):
            out.append((room, link))
    known = {link.resource for _, link in out}
    missing = [r for r in request.room.resources if r not in known]
    if missing and not await _all_exist(services, org_id, missing):
        raise InvalidInput("room.resources", f"resource(s) {', '.join(missing)} are not known", code="unknown_resource")
    return sorted(out, key=lambda pair: pair[0].fit())


async def _all_exist(services: Services, org_id: str, resources: list[str]) -> bool:
    return all([await services.store.get(ResourceLink, org=org_id, resource=r) is not None for r in resources])


def _room(link: ResourceLink) -> Room:
    place = link.place
    floor = place.get("floorLabel") or (str(place["floorNumber"]) if place.get("floorNumber") is not None else None)
    capacity = place.get("capacity")
    return Room(
        resource=link.resource,
        address=link.account or "",
        name=link.display_name,
        capacity=capacity if isinstance(capacity, int) and not isinstance(capacity, bool) else None,
        building=place.get("building") or None,
        floor=floor,
        tags=tuple(str(t) for t in place.get("tags") or ()),
        room_list=link.group,
        reservable=place.get("bookingType", "standard") != "reserved",
    )


@dataclass
class _Wave:
    calendars: list[tuple[Room, Calendar]] = field(default_factory=list)
    unavailable: list[dict[str, Any]] = field(default_factory=list)
    calls: int = 0


async def _room_calendars(
    services: Services, tenant_id: str, request: SuggestRequest, rooms: list[tuple[Room, ResourceLink]]
) -> _Wave:
    owners: list[tuple[Owner, MailboxLink | None]] = [(Owner("resource", link.resource), link) for _, link in rooms]
    found = await read_schedules(services, tenant_id, owners, request.start, request.end, INTERVAL)
    wave = _Wave(calls=found.calls, unavailable=list(found.unavailable))
    for room, link in rooms:
        got = found.infos.get(Owner("resource", link.resource))
        if got is None:
            continue
        _, refused = schedule_entry(Owner("resource", link.resource), got[0], got[1], request.time_zone)
        if refused is not None:
            wave.unavailable.append(refused)
        else:
            wave.calendars.append((room, calendar(got[1])))
    return wave
