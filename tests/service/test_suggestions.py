"""Finding a time and a room through the use case (shared/service/suggestions.py) over the
fakes: the import keeps the rooms' places data, suggestions read calendars through
getSchedule (20 to a call) and ask rooms best fit first, only as many as the answer needs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from shared.adapters.messages import ImportChunk, ImportDiscover
from shared.adapters.records import Job, ResourceLink
from shared.core.errors import Conflict, GraphUnavailable, InvalidInput
from shared.service import appointments, linking, room_import
from shared.service.link_requests import WorkerRequest
from shared.service.suggestions import suggest
from tests.service.conftest import TENANT, World, make_org
from tests.service.test_links_and_rounds import drain_rounds

MONDAY = "2026-12-07"  # the fake's working hours: Monday to Friday, 08:00-17:00 UTC


async def setup(world: World, rooms: list[dict[str, Any]]) -> None:
    world.graph.seed(
        TENANT,
        [{"userPrincipalName": f"{w}@contoso.test"} for w in ("ada", "bo", "cy")]
        + [{"userPurpose": "room", **r} for r in rooms],
    )
    await make_org(world, "o1")
    for w in ("ada", "bo", "cy"):
        link, _ = await linking.put_worker(world.svc, "o1", WorkerRequest(w, f"{w}@contoso.test", None, None))
        assert link.status == "linked"
    await import_rooms(world)
    await drain_rounds(world)


async def import_rooms(world: World) -> None:
    """An import job, run as its queue messages would run it."""
    job = Job(org="o1", job=f"j{world.clock.now().timestamp()}", kind="import", created_at=world.clock.now())
    await world.store.insert(job)
    await room_import.discover(world.svc, ImportDiscover("o1", job.job), final=True)
    for msg in world.queues.take(ImportChunk.QUEUE):
        assert isinstance(msg, ImportChunk)
        await room_import.run_chunk(world.svc, msg, final=True)


def room(name: str, capacity: int, **place: Any) -> dict[str, Any]:
    return {"userPrincipalName": f"{name}@contoso.test", "displayName": name.title(), "capacity": capacity, **place}


def body(**kw: Any) -> dict[str, Any]:
    return {"durationMinutes": 60, "start": f"{MONDAY}T08:00:00Z", "end": f"{MONDAY}T17:00:00Z", **kw}


async def book(world: World, appointment: str, organizer: str, start: str, end: str, **kw: Any) -> None:
    view = await appointments.put(
        world.svc,
        "o1",
        appointment,
        {"title": "Busy", "start": f"{MONDAY}T{start}:00Z", "end": f"{MONDAY}T{end}:00Z", "organizer": organizer, **kw},
    )
    assert all(t["state"] == "synced" for t in view["targets"]), view


async def test_the_import_keeps_each_rooms_places_data_and_when_it_read_it(world: World) -> None:
    await setup(world, [room("fuji", 8, building="HQ", floorNumber=2, tags=["video"])])
    [fuji] = [r async for r in world.store.query(ResourceLink, org="o1")]
    assert fuji.place == {
        "capacity": 8,
        "building": "HQ",
        "floorNumber": 2,
        "tags": ["video"],
        "bookingType": "standard",
        "isWheelChairAccessible": False,
    }
    first = fuji.place_read_at
    assert first is not None
    world.clock.advance(hours=1)
    await import_rooms(world)  # unchanged, but read again: as fresh as this import
    again = await world.store.get(ResourceLink, org="o1", resource=fuji.resource)
    assert again is not None and again.place_read_at is not None and again.place_read_at > first


async def test_a_time_when_the_required_are_free_with_the_smallest_free_room_that_fits(world: World) -> None:
    await setup(world, [room("fuji", 8), room("kili", 12), room("matter", 4)])
    await book(world, "a1", "ada", "08:00", "10:00")
    await book(world, "a2", "bo", "10:00", "11:00")
    await book(world, "a3", "cy", "11:00", "12:00")  # cy is optional: the 11:00 slot ranks below
    out = await suggest(
        world.svc, "o1", body(required=["ada", "bo"], optional=["cy"], room={"capacity": 5}, maxSuggestions=2)
    )
    assert [(s["start"], s["optionalFree"], [r["name"] for r in s["rooms"]]) for s in out["suggestions"]] == [
        ("2026-12-07T12:00:00+00:00", ["cy"], ["Fuji", "Kili"]),
        ("2026-12-07T12:30:00+00:00", ["cy"], ["Fuji", "Kili"]),
    ]
    assert out["roomsMatching"] == 2 and out["roomsAsked"] == 2  # Matter seats 4
    assert out["graphCalls"] == 2  # one for the three workers, one for the rooms
    assert out["unavailable"] == []


async def test_rooms_are_asked_best_fit_first_and_only_as_many_as_the_answer_needs(world: World) -> None:
    await setup(world, [room(f"room{n:03}", 4 + n % 20) for n in range(250)])
    world.graph.calls.clear()
    out = await suggest(world.svc, "o1", body(required=["ada"], room={"capacity": 4}, maxSuggestions=3))
    assert out["roomsMatching"] == 250 and out["roomsAsked"] == 100  # one wave settled it
    assert world.graph.count("get_schedule") == out["graphCalls"] == 1 + 5
    assert [r["capacity"] for r in out["suggestions"][0]["rooms"]] == [4, 4, 4]


async def test_an_optional_worker_that_cannot_be_read_is_named_a_required_one_fails_the_request(
    world: World,
) -> None:
    await setup(world, [room("fuji", 8)])
    await linking.put_worker(world.svc, "o1", WorkerRequest("dee", None, None, None))  # no mailbox
    out = await suggest(world.svc, "o1", body(required=["ada"], optional=["zed"]))
    assert out["unavailable"] == [
        {"worker": "zed", "code": "unknown_worker", "reason": "worker 'zed' is not known in the org"}
    ]
    assert all(("zed", "calendar_unavailable") in [(b["worker"], b["reason"]) for b in s["optionalBusy"]]
               for s in out["suggestions"])  # fmt: skip
    # Every required worker who is wrong is named, whatever the order (found from outside).
    with pytest.raises(InvalidInput) as unknown:
        await suggest(world.svc, "o1", body(required=["dee", "zed", "yan", "ada"]))
    assert unknown.value.code == "unknown_worker" and "zed, yan" in unknown.value.message
    with pytest.raises(Conflict) as unlinked:
        await suggest(world.svc, "o1", body(required=["ada", "dee"]))
    assert (unlinked.value.code, unlinked.value.details["workers"]) == ("worker_not_linked", ["dee"])
    # Graph failing for a required worker (after the SDK's retries): 503, to be asked again.
    world.graph.fail_next(5, operation="get_schedule")
    with pytest.raises(GraphUnavailable) as down:
        await suggest(world.svc, "o1", body(required=["ada"]))
    assert down.value.retry_after and "'ada'" in down.value.message


async def test_times_before_now_are_never_suggested(world: World) -> None:
    await setup(world, [])
    world.clock.at = datetime(2026, 12, 7, 10, 7, tzinfo=UTC)  # Monday 10:07
    out = await suggest(world.svc, "o1", body(required=["ada"], maxSuggestions=1))
    assert out["suggestions"][0]["start"] == "2026-12-07T10:30:00+00:00"  # the next time on the grid
    world.clock.at = datetime(2026, 12, 8, tzinfo=UTC)
    world.graph.calls.clear()
    over = await suggest(world.svc, "o1", body(required=["ada"]))
    assert over["suggestions"] == [] and world.graph.count("get_schedule") == 0


async def test_rooms_named_narrow_the_choice_an_unknown_one_is_refused_unreadable_ones_are_a_503(
    world: World,
) -> None:
    await setup(world, [room("fuji", 8), room("kili", 12)])
    by_name = {r.display_name: r.resource async for r in world.store.query(ResourceLink, org="o1")}
    only = await suggest(
        world.svc, "o1", body(required=["ada"], room={"resources": [by_name["Kili"]]}, maxSuggestions=1)
    )
    assert [r["name"] for r in only["suggestions"][0]["rooms"]] == ["Kili"] and only["roomsMatching"] == 1
    with pytest.raises(InvalidInput) as unknown:
        await suggest(world.svc, "o1", body(required=["ada"], room={"resources": ["nowhere"]}))
    assert (unknown.value.code, unknown.value.field) == ("unknown_resource", "room.resources")
    # The rooms' getSchedule call fails (the people's went through): not "no free room" but 503.
    real = world.graph.get_schedule

    async def rooms_fail(tenant: str, caller: str, addresses: list[str], *args: Any) -> Any:
        if any(a.startswith(("fuji", "kili")) for a in addresses):
            world.graph.fail_next(1, operation="get_schedule")
        return await real(tenant, caller, addresses, *args)

    world.graph.get_schedule = rooms_fail  # type: ignore[method-assign]
    with pytest.raises(GraphUnavailable):
        await suggest(world.svc, "o1", body(required=["ada"], room={}, maxSuggestions=1))
