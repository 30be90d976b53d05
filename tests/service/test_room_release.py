"""Room check-in and auto-release through the use cases (shared/service/room_release.py) over
the fakes: a room booking nobody checked in to is declined by the room once, reported once,
never when someone checked in, never twice when two instances run at once."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from shared.adapters.messages import RoomRelease
from shared.adapters.records import Org
from shared.adapters.room_records import RoomHold
from shared.core.errors import Conflict, InvalidInput
from shared.service import appointments, feed, linking, offboarding, orgs, room_release
from shared.service.link_requests import ResourceRequest, WorkerRequest
from tests.service.conftest import TENANT, World, make_org
from tests.service.test_links_and_rounds import drain_rounds

START = "2026-12-01T09:05:00Z"  # five minutes after the world's clock


async def setup(world: World, **settings: Any) -> dict[str, str]:
    users = world.graph.seed(
        TENANT,
        [
            {"userPrincipalName": "ada@contoso.test"},
            {"userPrincipalName": "fuji@contoso.test", "displayName": "Fuji", "userPurpose": "room"},
        ],
    )
    await make_org(world, "o1")
    await orgs.update_settings(world.svc, "o1", {"roomCheckIn": True, "releaseAfterMinutes": 10, **settings})
    link, _ = await linking.put_worker(world.svc, "o1", WorkerRequest("ada", "ada@contoso.test", None, None))
    room, _ = await linking.put_resource(world.svc, "o1", ResourceRequest("fuji", "fuji@contoso.test", None, None))
    assert link.status == room.status == "linked"
    await drain_rounds(world)
    return users


async def book(
    world: World, users: dict[str, str], appointment: str = "a1", end: str = "2026-12-01T10:00:00Z"
) -> dict[str, Any]:
    """A meeting ada organizes in Fuji; the room's copy arrives (the fakes do not make it)."""
    body = {"title": "Review", "start": START, "end": end, "organizer": "ada", "resources": ["fuji"]}
    view = await appointments.put(world.svc, "o1", appointment, body)
    [organizer] = [t for t in view["targets"] if t["role"] == "organizer"]
    meeting = world.graph.events(TENANT, users["ada@contoso.test"])[-1]
    world.graph.outlook_create(
        TENANT,
        users["fuji@contoso.test"],
        {"subject": "Review", "start": meeting["start"], "end": meeting["end"]},
        ical_uid=meeting["iCalUId"],
        is_organizer=False,
        organizer={"address": "ada@contoso.test", "name": "Ada"},
    )
    return organizer


def room_events(world: World, users: dict[str, str]) -> list[dict[str, Any]]:
    return world.graph.events(TENANT, users["fuji@contoso.test"])


async def released(world: World) -> list[Any]:
    return [c for c in await feed.read(world.store, "o1", 0, 500) if c.type == "room_released"]


async def test_a_room_nobody_checked_in_to_is_declined_once_and_reported_once(world: World) -> None:
    users = await setup(world)
    await book(world, users)
    world.clock.advance(minutes=14)  # 09:14: the grace period (until 09:15) is not over
    assert await room_release.release_due(world.svc, "o1") == 0 and len(room_events(world, users)) == 1
    world.clock.advance(minutes=2)
    assert await room_release.release_due(world.svc, "o1") == 1
    assert room_events(world, users) == []  # the room's calendar is free again
    [meeting] = world.graph.events(TENANT, users["ada@contoso.test"])
    assert [a["status"]["response"] for a in meeting["attendees"]] == ["declined"]  # the organizer sees it
    [change] = await released(world)
    assert (change.appointment, change.resource, change.data["declined"]) == ("a1", "fuji", True)
    assert change.data["releaseAfterMinutes"] == 10
    view = await appointments.get(world.svc, "o1", "a1")
    assert [(r["resource"], r["state"]) for r in view["rooms"]] == [("fuji", "released")]
    # The next minutes' runs find nothing more to do.
    world.clock.advance(minutes=1)
    assert await room_release.release_due(world.svc, "o1") == 0
    assert world.graph.count("decline_event") == 1 and len(await released(world)) == 1
    with pytest.raises(Conflict) as late:  # a check-in after the release is refused, with why
        await room_release.check_in(world.svc, "o1", "a1", {"resource": "fuji"})
    assert late.value.code == "room_released"


async def test_a_checked_in_room_is_never_released(world: World) -> None:
    users = await setup(world)
    await book(world, users)
    world.clock.advance(minutes=6)
    first = await room_release.check_in(world.svc, "o1", "a1", {"resource": "fuji"})
    again = await room_release.check_in(world.svc, "o1", "a1", {"resource": "fuji"})
    assert first["state"] == again["state"] == "checked_in" and first["at"] == again["at"]
    world.clock.advance(minutes=15)
    assert await room_release.release_due(world.svc, "o1") == 0
    assert world.graph.count("decline_event") == 0 and len(room_events(world, users)) == 1
    assert await released(world) == []


async def test_two_instances_releasing_at_once_decline_once(world: World) -> None:
    users = await setup(world)
    await book(world, users)
    world.clock.advance(minutes=16)
    counts = await asyncio.gather(room_release.release_due(world.svc, "o1"), room_release.release_due(world.svc, "o1"))
    assert sorted(counts) == [0, 1]
    assert world.graph.count("decline_event") == 1 and len(await released(world)) == 1


async def test_a_check_in_during_the_release_is_refused_and_the_release_is_whole(world: World) -> None:
    users = await setup(world)
    await book(world, users)
    world.clock.advance(minutes=16)
    real, refused = world.graph.decline_event, []

    async def check_in_meanwhile(*args: Any) -> Any:
        try:
            await room_release.check_in(world.svc, "o1", "a1", {"resource": "fuji"})
        except Conflict as exc:
            refused.append(exc.code)
        return await real(*args)

    world.graph.decline_event = check_in_meanwhile  # type: ignore[method-assign]
    assert await room_release.release_due(world.svc, "o1") == 1
    assert refused == ["room_released"] and len(await released(world)) == 1


async def test_a_release_that_died_half_way_is_finished_once_after_its_lease(world: World) -> None:
    users = await setup(world)
    await book(world, users)
    world.clock.advance(minutes=16)
    world.graph.fail_next(1, operation="decline_event")  # the instance's Graph call fails
    assert await room_release.release_due(world.svc, "o1") == 0
    assert len(room_events(world, users)) == 1 and await released(world) == []
    world.clock.advance(minutes=2)  # within the lease: left to the instance that took it
    assert await room_release.release_due(world.svc, "o1") == 0
    world.clock.advance(minutes=4)
    assert await room_release.release_due(world.svc, "o1") == 1
    assert room_events(world, users) == [] and len(await released(world)) == 1


async def test_a_release_overtaken_after_its_lease_declines_once_and_the_run_goes_on(world: World) -> None:
    """A run whose Graph read outlasts the lease (retries and their waits) is taken over; the
    slow run must not decline as well, and its lost commit must not end its other bookings."""
    users = await setup(world)
    await book(world, users)
    await book(world, users, "a2", end="2026-12-01T09:20:00Z")  # over before the other run starts
    world.clock.advance(minutes=16)  # 09:16: both are due for this run
    real, overtaken = world.graph.meeting_copy, []

    async def slow_read(*args: Any) -> Any:
        found = await real(*args)
        if not overtaken:  # a1's read: the lease runs out, a run at 09:22 takes a1 over
            overtaken.append(True)
            world.clock.advance(minutes=6)
            world.graph.meeting_copy = real  # type: ignore[method-assign]
            assert await room_release.release_due(world.svc, "o1") == 1  # a1 (a2 has ended for it)
            world.graph.meeting_copy = slow_read  # type: ignore[method-assign]
        return found

    world.graph.meeting_copy = slow_read  # type: ignore[method-assign]
    assert await room_release.release_due(world.svc, "o1") == 1  # a2: this run went on after losing a1
    assert world.graph.count("decline_event") == 2  # one per booking, none twice
    assert sorted(c.appointment for c in await released(world)) == ["a1", "a2"]


async def test_check_in_asks_for_what_it_needs(world: World) -> None:
    users = await setup(world)
    await book(world, users)
    with pytest.raises(InvalidInput) as wrong_room:
        await room_release.check_in(world.svc, "o1", "a1", {"resource": "kili"})
    assert wrong_room.value.field == "resource"
    with pytest.raises(InvalidInput) as not_series:
        await room_release.check_in(world.svc, "o1", "a1", {"resource": "fuji", "occurrence": "2026-12-01"})
    assert not_series.value.field == "occurrence"
    await orgs.update_settings(world.svc, "o1", {"roomCheckIn": False})
    with pytest.raises(Conflict) as off:
        await room_release.check_in(world.svc, "o1", "a1", {"resource": "fuji"})
    assert off.value.code == "check_in_off"


async def test_the_timer_visits_only_orgs_with_check_in_on(world: World) -> None:
    await setup(world)
    await make_org(world, "o2")
    assert await room_release.fan_out(world.svc) == 1
    assert [m.org for m in world.queues.take(RoomRelease.QUEUE)] == ["o1"]
    await orgs.update_settings(world.svc, "o1", {"roomCheckIn": False})
    assert await room_release.fan_out(world.svc) == 0
    # An org gone while its mark stayed: its run drops the mark.
    await orgs.update_settings(world.svc, "o1", {"roomCheckIn": True})
    await world.store.delete_key(Org, org="o1")
    assert await room_release.fan_out(world.svc) == 1
    assert await room_release.release_due(world.svc, "o1") == 0
    assert await room_release.fan_out(world.svc) == 0


async def test_deleting_an_org_takes_its_holds_and_its_mark(world: World) -> None:
    users = await setup(world)
    await book(world, users)
    await offboarding.delete_org(world.svc, "o1")
    assert await room_release.fan_out(world.svc) == 0
    assert [h async for h in world.store.query(RoomHold, org="o1")] == []


async def test_a_moved_booking_is_released_at_its_new_time(world: World) -> None:
    users = await setup(world)
    await book(world, users)
    moved = {"title": "Review", "start": "2026-12-01T11:00:00Z", "end": "2026-12-01T12:00:00Z", "organizer": "ada",
             "resources": ["fuji"]}  # fmt: skip
    await appointments.put(world.svc, "o1", "a1", moved)
    world.clock.advance(minutes=16)  # past the old time's grace period: its hold is left behind
    assert await room_release.release_due(world.svc, "o1") == 0
    world.clock.advance(hours=2)  # 11:16
    assert await room_release.release_due(world.svc, "o1") == 1


async def test_graph_failing_leaves_the_booking_to_the_next_run(world: World) -> None:
    users = await setup(world)
    await book(world, users)
    world.clock.advance(minutes=16)
    world.graph.fail_next(1, operation="meeting_copy")
    assert await room_release.release_due(world.svc, "o1") == 0  # logged; the booking is held
    world.clock.advance(minutes=6)  # the lease is over: the next run finishes it
    assert await room_release.release_due(world.svc, "o1") == 1
    assert world.graph.count("decline_event") == 1 and len(await released(world)) == 1


async def test_occurrences_of_a_series_are_released_one_by_one(world: World) -> None:
    users = await setup(world)
    weekly = {
        "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["tuesday"], "firstDayOfWeek": "monday"},
        "range": {"type": "numbered", "numberOfOccurrences": 3},
    }
    body = {"title": "Weekly", "start": START, "end": "2026-12-01T10:00:00Z", "organizer": "ada",
            "resources": ["fuji"], "recurrence": weekly}  # fmt: skip
    await appointments.put(world.svc, "o1", "s1", body)
    [master] = [e for e in world.graph.events(TENANT, users["ada@contoso.test"]) if e["type"] == "seriesMaster"]
    world.graph.outlook_create(
        TENANT,
        users["fuji@contoso.test"],
        {"subject": "Weekly", "start": master["start"], "end": master["end"], "recurrence": master["recurrence"]},
        ical_uid=master["iCalUId"],
        is_organizer=False,
        organizer={"address": "ada@contoso.test", "name": "Ada"},
    )
    world.clock.advance(minutes=16)
    assert await room_release.release_due(world.svc, "o1") == 1
    world.clock.advance(days=7)
    assert await room_release.release_due(world.svc, "o1") == 1
    await room_release.check_in(world.svc, "o1", "s1", {"resource": "fuji", "occurrence": "2026-12-15"})
    world.clock.advance(days=7)
    assert await room_release.release_due(world.svc, "o1") == 0
    assert [(c.data["occurrence"], c.data["declined"]) for c in await released(world)] == [
        ("2026-12-01", True),
        ("2026-12-08", True),
    ]
    fuji = users["fuji@contoso.test"]
    [copy] = [e for e in room_events(world, users) if e["type"] == "seriesMaster"]
    span = (world.clock.now() - timedelta(days=30), world.clock.now() + timedelta(days=30))
    found = await world.graph.instances(TENANT, fuji, copy["id"], *span)
    left = [i["start"]["dateTime"][:10] for i in found]
    assert left == ["2026-12-15"]  # the room declined the first two occurrences only
    view = await appointments.get(world.svc, "o1", "s1")
    assert [(r["occurrence"], r["state"]) for r in view["rooms"]] == [
        ("2026-12-01", "released"),
        ("2026-12-08", "released"),
        ("2026-12-15", "checked_in"),
    ]
