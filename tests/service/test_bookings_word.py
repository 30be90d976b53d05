"""A PUT is the booking product's word: afterwards Outlook holds that version, and only a new
edit in Outlook is a change (issue #23, items 1–3)."""

from __future__ import annotations

from typing import Any

import pytest

from shared.adapters.records import Target
from shared.service import appointments, linking
from shared.service.link_requests import ResourceRequest
from tests.service.conftest import TENANT, World
from tests.service.test_delta_window import booked, changes, round_now, when
from tests.service.test_links_and_rounds import drain_rounds


def body(world: World, **kw: Any) -> dict[str, Any]:
    start, end = when(world, 7)["dateTime"], when(world, 7, 11)["dateTime"]
    return {"title": "Consult", "start": start, "end": end, "organizer": "w-ada", **kw}


def held(world: World, uid: str) -> list[tuple[str, str]]:
    return [(e["subject"], e["start"]["dateTime"][:16]) for e in world.graph.events(TENANT, uid)]


@pytest.mark.parametrize("extra", [{"title": "Consult (new title)"}, {"onlineMeeting": True}])
async def test_a_put_after_an_outlook_move_puts_the_booking_back_and_the_move_is_reported_once(
    world: World, extra: dict[str, Any]
) -> None:
    uid, event_id = await booked(world)
    world.graph.outlook_update(TENANT, uid, event_id, {"start": when(world, 7, 15), "end": when(world, 7, 16)})
    await round_now(world)
    assert await changes(world) == [("updated", "a1")]

    # Still 10:00 in the booking product, with only a new title (or a Teams link).
    await appointments.put(world.svc, "o1", "a1", body(world, **extra))
    [(subject, start)] = held(world, uid)
    assert start == when(world, 7)["dateTime"][:16]  # back at 10:00
    assert subject == extra.get("title", "Consult")
    await round_now(world)
    assert await changes(world) == [("updated", "a1")]  # our write is no news


async def test_an_identical_put_moves_back_what_outlook_moved(world: World) -> None:
    uid, event_id = await booked(world)
    world.graph.outlook_update(TENANT, uid, event_id, {"start": when(world, 7, 15), "end": when(world, 7, 16)})
    await round_now(world)
    await appointments.put(world.svc, "o1", "a1", body(world))
    assert held(world, uid) == [("Consult", when(world, 7)["dateTime"][:16])]
    await round_now(world)
    assert await changes(world) == [("updated", "a1")]


async def test_a_retry_does_not_undo_an_outlook_edit_the_booking_product_has_not_answered(world: World) -> None:
    """Only the booking product's word re-asserts: a queue retry of an older push does not."""
    uid, event_id = await booked(world)
    world.graph.outlook_update(TENANT, uid, event_id, {"start": when(world, 7, 15), "end": when(world, 7, 16)})
    await round_now(world)
    assert await appointments.retry(world.svc, "o1", "a1", final=False)
    assert held(world, uid) == [("Consult", when(world, 7, 15)["dateTime"][:16])]


async def test_after_an_outlook_deletion_the_target_says_so_and_an_identical_put_makes_it_again(world: World) -> None:
    uid, event_id = await booked(world)
    world.graph.outlook_delete(TENANT, uid, event_id)
    await round_now(world)
    assert await changes(world) == [("deleted", "a1")]
    [target] = (await appointments.get(world.svc, "o1", "a1"))["targets"]
    assert (target["state"], target["eventId"]) == ("deleted_in_outlook", None)

    # A retry (not the booking product's word) leaves Outlook's deletion standing.
    await appointments.retry(world.svc, "o1", "a1", final=False)
    assert world.graph.events(TENANT, uid) == []

    [again] = (await appointments.put(world.svc, "o1", "a1", body(world)))["targets"]
    assert again["state"] == "synced" and again["eventId"] not in (None, event_id)
    assert held(world, uid) == [("Consult", when(world, 7)["dateTime"][:16])]
    await round_now(world)
    assert await changes(world) == [("deleted", "a1")]  # our new event is no news


async def test_a_re_asserting_put_held_up_by_graph_is_finished_by_its_retry(world: World) -> None:
    uid, event_id = await booked(world)
    world.graph.outlook_update(TENANT, uid, event_id, {"start": when(world, 7, 15), "end": when(world, 7, 16)})
    await round_now(world)
    world.graph.fail_next(1, "unavailable", operation="update_event")
    [target] = (await appointments.put(world.svc, "o1", "a1", body(world, title="Consult (new)")))["targets"]
    assert target["state"] == "pending"
    assert await appointments.retry(world.svc, "o1", "a1", final=False)
    assert held(world, uid) == [("Consult (new)", when(world, 7)["dateTime"][:16])]


async def test_a_rooms_answer_noted_while_a_push_writes_the_target_is_kept(world: World) -> None:
    """Item 3: the push read the target, the round noted the room's answer on it, the push
    saved its read copy: the answer was gone from the target while the feed had it."""
    uid, event_id = await booked(world)
    world.graph.seed(TENANT, [{"userPrincipalName": "fuji@fabrikam.test", "userPurpose": "room"}])
    room, _ = await linking.put_resource(world.svc, "o1", ResourceRequest("fuji", "fuji@fabrikam.test", "Fuji", None))
    assert room.status == "linked"
    await appointments.put(world.svc, "o1", "a1", body(world, resources=["fuji"]))
    await drain_rounds(world)
    real = world.graph.update_event

    async def answered_meanwhile(*args: Any, **kwargs: Any) -> Any:
        world.graph.update_event = real  # type: ignore[method-assign]
        world.graph.outlook_respond(TENANT, uid, event_id, "fuji@fabrikam.test", "declined")
        await round_now(world)  # the round notes it on the target while our PATCH is out
        return await real(*args, **kwargs)

    world.graph.update_event = answered_meanwhile  # type: ignore[method-assign]
    await appointments.put(world.svc, "o1", "a1", body(world, title="Consult (2)", resources=["fuji"]))
    assert ("responded", "a1") in await changes(world)
    stored = await world.store.get(Target, org="o1", appointment="a1", mailbox=uid)
    assert stored is not None and stored.responses == {"fuji@fabrikam.test": "declined"}


async def test_a_one_way_restore_noted_while_a_push_writes_the_target_is_carried_out(world: World) -> None:
    """The soak's oneway_occurrence (a437): a round asked for a restore on the target while a
    push was writing it; the push's save kept its own copy and the restore was lost."""
    uid, event_id = await booked(world, syncMode="oneWay")
    world.graph.outlook_update(TENANT, uid, event_id, {"subject": "Mine now"})
    real = world.graph.update_event

    async def round_meanwhile(*args: Any, **kwargs: Any) -> Any:
        world.graph.update_event = real  # type: ignore[method-assign]
        answer = await real(*args, **kwargs)
        await round_now(world)  # sees the Outlook title: asks for it to be put back
        return answer

    world.graph.update_event = round_meanwhile  # type: ignore[method-assign]
    await appointments.put(world.svc, "o1", "a1", body(world, location="Room 2"))
    while world.queues.take("appointment-sync"):
        assert await appointments.retry(world.svc, "o1", "a1", final=False)
    [event] = world.graph.events(TENANT, uid)
    assert (event["subject"], event["location"]["displayName"]) == ("Consult", "Room 2")
