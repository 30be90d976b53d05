"""Org policies in a mailbox round, over the fakes."""

from __future__ import annotations

from shared.adapters.records import Target, WorkerLink
from shared.service import appointments, feed
from tests.service.conftest import TENANT, World, make_org
from tests.service.test_delta_window import round_now, when
from tests.service.test_links_and_rounds import drain_rounds, linked_worker


async def test_a_restricted_workers_deletion_with_ignore_shows_on_the_target_and_an_update_recreates(
    world: World,
) -> None:
    await make_org(world, restrictedDelete="ignore")
    uid = (await linked_worker(world)).m365_user_id or ""
    link = await world.store.get(WorkerLink, org="o1", worker="w-ada")
    assert link is not None
    link.restricted = True
    await world.store.update(link)
    body = {
        "title": "Consult",
        "start": when(world, 7)["dateTime"],
        "end": when(world, 7, 11)["dateTime"],
        "organizer": "w-ada",
    }
    [target] = (await appointments.put(world.svc, "o1", "a1", body))["targets"]
    await drain_rounds(world)

    world.graph.outlook_delete(TENANT, uid, target["eventId"])
    await round_now(world)
    assert await feed.read(world.store, "o1", 0, 10) == []  # ignored: nothing reported
    stored = await world.store.get(Target, org="o1", appointment="a1", mailbox=uid)
    assert stored is not None and (stored.state, stored.event_id) == ("deleted_in_outlook", None)
    [shown] = (await appointments.get(world.svc, "o1", "a1"))["targets"]
    assert shown["state"] == "deleted_in_outlook"

    # The booking product updates the appointment: the event is created again, once.
    [again] = (await appointments.put(world.svc, "o1", "a1", {**body, "title": "Consult (moved)"}))["targets"]
    assert again["state"] == "synced" and again["eventId"] != target["eventId"]
    assert [e["subject"] for e in world.graph.events(TENANT, uid)] == ["Consult (moved)"]


async def test_a_room_declining_our_meeting_is_reported_and_shown_on_the_appointment(world: World) -> None:
    from shared.service import linking
    from shared.service.link_requests import ResourceRequest

    await make_org(world)
    uid = (await linked_worker(world)).m365_user_id or ""
    world.graph.seed(TENANT, [{"userPrincipalName": "fuji@fabrikam.test", "userPurpose": "room"}])
    room, _ = await linking.put_resource(world.svc, "o1", ResourceRequest("fuji", "fuji@fabrikam.test", "Fuji", None))
    assert room.status == "linked"
    body = {
        "title": "Offsite",
        "start": when(world, 5)["dateTime"],
        "end": when(world, 5, 11)["dateTime"],
        "organizer": "w-ada",
        "resources": ["fuji"],
    }
    await drain_rounds(world)
    [target] = (await appointments.put(world.svc, "o1", "r2", body))["targets"]
    # Exchange: the room is busy and declines at once, before any round has seen the meeting.
    world.graph.outlook_respond(TENANT, uid, target["eventId"], "fuji@fabrikam.test", "declined")
    await round_now(world)
    rows = await feed.read(world.store, "o1", 0, 10)
    assert [(r.type, r.resource, r.data["response"]) for r in rows] == [("responded", "fuji", "declined")]
    [shown] = (await appointments.get(world.svc, "o1", "r2"))["targets"]
    assert shown["responses"] == {"fuji@fabrikam.test": "declined"}
