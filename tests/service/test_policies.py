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


async def test_sync_off_writes_nothing_and_turning_it_on_catches_up_once(world: World) -> None:
    from shared.adapters.messages import AppointmentRetry, MailboxSyncBatch, OrgReconcile
    from shared.service import maintenance
    from shared.service.orgs import update_settings

    await make_org(world, syncMode="off")
    uid = (await linked_worker(world)).m365_user_id or ""
    await drain_rounds(world)
    writes_before = world.graph.count("create_event")
    body = {
        "title": "Consult",
        "start": when(world, 7)["dateTime"],
        "end": when(world, 7, 11)["dateTime"],
        "organizer": "w-ada",
    }
    view = await appointments.put(world.svc, "o1", "a1", body)
    assert view["syncOff"] and view["targets"] == [] and world.graph.count("create_event") == writes_before
    made = world.graph.outlook_create(
        TENANT, uid, {"subject": "Made while off", "start": when(world, 2), "end": when(world, 2, 11)}
    )
    deltas = world.graph.count("delta")
    await round_now(world)
    assert world.graph.count("delta") == deltas and await feed.read(world.store, "o1", 0, 10) == []

    await update_settings(world.svc, "o1", {"syncMode": "twoWay"})
    assert [m.org for m in world.queues.take(OrgReconcile.QUEUE)] == ["o1"]
    [retry] = world.queues.take(AppointmentRetry.QUEUE)
    assert await appointments.retry(world.svc, retry.org, retry.appointment, final=False)
    await maintenance.reconcile_org(world.svc, "o1")
    assert world.queues.waiting(MailboxSyncBatch.QUEUE)
    await drain_rounds(world)
    subjects = sorted(e["subject"] for e in world.graph.events(TENANT, uid))
    assert subjects == ["Consult", "Made while off"]  # our appointment pushed once, nothing doubled
    rows = await feed.read(world.store, "o1", 0, 10)
    assert [(r.type, r.data.get("title")) for r in rows] == [("created", "Made while off")]
    assert made["id"] == rows[0].event_id
    await update_settings(world.svc, "o1", {"createPrefix": ""})  # on → on: no second catch-up
    assert world.queues.take(AppointmentRetry.QUEUE) == []


async def test_one_way_undoes_an_edit_field_by_field_so_answers_stay(world: World) -> None:
    from typing import Any

    from shared.adapters.messages import AppointmentRetry

    await make_org(world, syncMode="oneWay")
    uid = (await linked_worker(world)).m365_user_id or ""
    await linked_worker(world, "w-bob", "bob@fabrikam.test")
    await drain_rounds(world)
    body = {
        "title": "Review",
        "start": when(world, 4)["dateTime"],
        "end": when(world, 4, 11)["dateTime"],
        "organizer": "w-ada",
        "attendees": ["w-bob"],
    }
    [target] = (await appointments.put(world.svc, "o1", "m1", body))["targets"]
    world.graph.outlook_respond(TENANT, uid, target["eventId"], "bob@fabrikam.test", "accepted")
    await round_now(world)
    world.graph.outlook_update(TENANT, uid, target["eventId"], {"subject": "Renamed in Outlook"})
    await round_now(world)

    patches: list[dict[str, Any]] = []
    real = world.graph.update_event

    async def watch(tenant: str, mailbox: str, event_id: str, patch: dict[str, Any], **kw: Any) -> Any:
        patches.append(patch)
        return await real(tenant, mailbox, event_id, patch, **kw)

    world.graph.update_event = watch  # type: ignore[method-assign]
    [retry] = world.queues.take(AppointmentRetry.QUEUE)
    assert await appointments.retry(world.svc, retry.org, retry.appointment, final=False)
    assert [sorted(p) for p in patches] == [["subject"]]  # the attendees were not sent again
    meeting = world.graph.event(TENANT, uid, target["eventId"])
    assert meeting is not None and meeting["subject"] == "Review"
    assert [a["status"]["response"] for a in meeting["attendees"]] == ["accepted"]
    assert [(r.type, r.data.get("changed")) for r in await feed.read(world.store, "o1", 0, 10)] == [
        ("restored", ["title"])
    ]
