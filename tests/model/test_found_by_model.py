"""Bugs the model-based test (test_sync_machine.py) found, each shrunk to a plain
regression test through the use cases. They fail until the bug they name is fixed."""

from __future__ import annotations

from typing import Any

from shared.adapters.messages import MailboxSync, OrgReconcile, WebhookDelivery
from shared.core.mapping import meeting_id
from shared.service import appointments, feed, linking, mailbox_rounds, maintenance, notifications, orgs, webhooks
from shared.service.link_requests import ResourceRequest, WorkerRequest
from tests.model.wire import virtual_time
from tests.model.world import TENANT, WEBHOOK_SECRET, System, address
from tests.service.conftest import World, make_org, new_world
from tests.service.test_links_and_rounds import drain_rounds

DAY = "2026-12-07"


def at(hour: int) -> dict[str, dict[str, str]]:
    return {
        "start": {"dateTime": f"{DAY}T{hour:02d}:00:00", "timeZone": "UTC"},
        "end": {"dateTime": f"{DAY}T{hour + 1:02d}:00:00", "timeZone": "UTC"},
    }


async def changes(world: World, org: str = "o1") -> list[tuple[str, str | None]]:
    return [(r.type, r.appointment) for r in await feed.read(world.store, org, 0, 100)]


async def rounds(world: World, *links: tuple[str, str, str]) -> None:
    for org, kind, owner in links:
        await world.svc.queues.send(MailboxSync(org, kind, owner))
        await drain_rounds(world)


def room_copy(world: World, room: str, ical: str, hour: int, rooms: list[str]) -> dict[str, Any]:
    """An outsider's meeting as it lands in a room's calendar (Exchange's copy)."""
    body = {
        "subject": "Xavier",
        **at(hour),
        "attendees": [{"emailAddress": {"address": r}, "type": "resource"} for r in rooms],
    }
    organizer = {"address": "xavier@contoso.test", "name": "Xavier"}
    return world.graph.outlook_create(TENANT, room, body, ical_uid=ical, is_organizer=False, organizer=organizer)


async def test_two_orgs_sharing_a_room_hear_an_outlook_move_as_updated_not_created_again() -> None:
    """Seen snapshots are keyed by (mailbox, event id) only, but each org keeps its own:
    two orgs linking one mailbox overwrite each other's snapshot of the same event
    (shared/adapters/inbound_records.py SeenEvent; mailbox_rounds._gather filters by org and
    _apply_snapshots upserts without it). The next round of each org finds no snapshot of its
    own and reports the meeting as `created` again; a cancellation is missed the same way."""
    world = new_world()
    users = world.graph.seed(
        TENANT,
        [
            {"userPrincipalName": "room1@contoso.test", "displayName": "Room 1", "userPurpose": "room"},
            {"userPrincipalName": "xavier@contoso.test", "displayName": "Xavier"},
        ],
    )
    room = users["room1@contoso.test"]
    for org, resource in (("o1", "fuji"), ("o2", "one")):
        await make_org(world, org)
        request = ResourceRequest(resource, "room1@contoso.test", None, None)
        link, _ = await linking.put_resource(world.svc, org, request)
        assert link.status == "linked", link.error_message
    await drain_rounds(world)
    copy = room_copy(world, room, "040000008200E00074C5B7101A82E0080000000001", 10, ["room1@contoso.test"])
    await rounds(world, ("o1", "resource", "fuji"), ("o2", "resource", "one"))
    world.graph.outlook_update(TENANT, room, copy["id"], at(12))  # the outsider moves the meeting
    await rounds(world, ("o1", "resource", "fuji"), ("o2", "resource", "one"))
    for org in ("o1", "o2"):
        [(created, meeting), *rest] = await changes(world, org)
        assert created == "created"
        assert rest == [("updated", meeting)], (org, rest)


async def test_a_lost_answer_to_our_own_delete_is_not_reported_as_deleted_in_outlook() -> None:
    """push._Shell.run marks a target whose Delete failed `pending`, replacing `deleting`;
    when Graph did delete the event (only the answer was lost), the next round of that
    mailbox takes the removal for an Outlook deletion (event_lookup.know: retiring only for
    `deleting`/`deleted` targets) and reports `deleted` for the whole appointment — the
    booking product then cancels it for everyone. Here bob just stopped attending."""
    world = new_world()
    world.graph.seed(TENANT, [{"userPrincipalName": "ada@contoso.test"}, {"userPrincipalName": "bob@contoso.test"}])
    await make_org(world, useOrganizer=False)  # copies in each worker's calendar
    for worker in ("ada", "bob"):
        link, _ = await linking.put_worker(world.svc, "o1", WorkerRequest(worker, f"{worker}@contoso.test", None, None))
        assert link.status == "linked"
    await drain_rounds(world)
    body = {
        "title": "Consult",
        "start": f"{DAY}T10:00:00Z",
        "end": f"{DAY}T11:00:00Z",
        "organizer": "ada",
        "attendees": ["bob"],
    }
    await appointments.put(world.svc, "o1", "a1", body)
    await drain_rounds(world)
    world.graph.faults.fail_next(1, "lost_answer", operation="delete_event")  # Graph deletes; the answer is lost
    await appointments.put(world.svc, "o1", "a1", {**body, "attendees": []})
    await rounds(world, ("o1", "worker", "bob"))
    assert await changes(world) == []


async def test_linking_answers_an_error_when_graph_fails_while_replacing_a_lost_subscription() -> None:
    """subscriptions.subscribe: after a 409 for a subscription of ours whose record we lost
    (Graph made it, its answer was lost: here a 503 after applying, which the SDK retries),
    the replacing `delete_subscription` runs inside the `except GraphRejected` block, so its
    GraphUnavailable escapes: PUT …/workers/{id} answers 500 instead of storing the link as
    `error` (graph_unavailable) for reconcile to retry (docs/api.md, link outcomes)."""
    system = System()
    with virtual_time(system.clock):
        try:
            await orgs.connect(system.svc, "o1", TENANT, "Org 1")
            system.emulator.world.faults.fail_next = [
                {"method": "POST", "pattern": "/subscriptions", "status": 503, "afterApply": True, "retryAfter": 1},
                {"method": "DELETE", "pattern": "/subscriptions/{id}", "status": 503, "count": 3, "retryAfter": 1},
            ]
            link, _ = await linking.put_worker(system.svc, "o1", WorkerRequest("ada", address("w1"), None, None))
            assert link.status == "error" and link.error_code == "graph_unavailable", link
        finally:
            await system.close()


async def test_reconcile_restarts_a_webhook_delivery_whose_message_was_lost() -> None:
    """A round that commits changes sends one webhook-delivery message (webhooks.nudge). If
    that message is lost (poisoned, or the queue write failed after the commit — the retried
    round then has no new changes and nudges nothing), nothing sends the changes until the
    org's next change: reconcile (maintenance.reconcile_org) never looks at the cursor."""
    world = new_world()
    users = world.graph.seed(TENANT, [{"userPrincipalName": "ada@contoso.test"}])
    await make_org(world, webhookUrl="https://booking.example/hook", webhookSecret=WEBHOOK_SECRET)
    link, _ = await linking.put_worker(world.svc, "o1", WorkerRequest("ada", "ada@contoso.test", None, None))
    assert link.status == "linked"
    await drain_rounds(world)
    world.graph.outlook_create(TENANT, users["ada@contoso.test"], {"subject": "Dentist", **at(10)})
    await rounds(world, ("o1", "worker", "ada"))
    assert [t for t, _ in await changes(world)] == ["created"]
    assert len(world.queues.take(WebhookDelivery.QUEUE)) == 1  # ... and that message is lost

    await maintenance.enqueue_reconcile(world.svc)
    for work in world.queues.take(OrgReconcile.QUEUE):
        await maintenance.reconcile_org(world.svc, work.org)
    await drain_rounds(world)
    for work in world.queues.take(WebhookDelivery.QUEUE):
        await webhooks.deliver(world.svc, work.org, work.attempt)
    assert len(world.webhooks.posts) == 1, "the change never reached the webhook"


async def test_reconcile_recreates_a_subscription_graph_dropped_without_a_lifecycle_notification() -> None:
    """When Graph drops a subscription and its `subscriptionRemoved` notification is lost,
    reconcile_org keeps trusting our record (_still_watched reads only our tables), although
    delete_orphans lists Graph's subscriptions in the same run: the mailbox gets no
    notifications until the renewal finds the 404, up to ~2 days later."""
    world = new_world()
    world.graph.seed(TENANT, [{"userPrincipalName": "ada@contoso.test"}])
    await make_org(world)
    link, _ = await linking.put_worker(world.svc, "o1", WorkerRequest("ada", "ada@contoso.test", None, None))
    assert link.status == "linked" and link.subscription_id
    world.graph.remove_subscription(link.subscription_id)  # its lifecycle notification never arrives
    notifications._cache.clear()
    await maintenance.reconcile_org(world.svc, "o1")
    assert [s.mailbox_id for s in world.graph.subscriptions(TENANT)] == [link.m365_user_id]


async def test_a_meeting_still_booked_in_a_linked_room_is_not_reported_deleted_when_another_room_declines() -> None:
    """One meeting, one booking: the first room round claims an outsider's meeting
    (MeetingClaim.mailbox) and only that room's copy reports it. When that room declines a
    move (Exchange removes its copy) the org hears `deleted`, although the meeting — moved —
    still holds the org's other linked room: the booking product frees a room that is booked
    (and never hears of the move)."""
    world = new_world()
    rooms = ["room1@contoso.test", "room2@contoso.test"]
    users = world.graph.seed(
        TENANT,
        [{"userPrincipalName": r, "userPurpose": "room"} for r in rooms]
        + [{"userPrincipalName": "xavier@contoso.test", "displayName": "Xavier"}],
    )
    await make_org(world)
    for n, room in enumerate(rooms, start=1):
        link, _ = await linking.put_resource(world.svc, "o1", ResourceRequest(f"room{n}", room, None, None))
        assert link.status == "linked"
    await drain_rounds(world)
    ical = "040000008200E00074C5B7101A82E0080000000002"
    copies = [room_copy(world, users[room], ical, 10, rooms) for room in rooms]
    await rounds(world, ("o1", "resource", "room1"), ("o1", "resource", "room2"))
    [(created, meeting)] = await changes(world)
    assert created == "created"
    # Xavier moves it to 12:00: room1 is busy then and declines (its copy goes), room2 accepts.
    world.graph.outlook_delete(TENANT, users[rooms[0]], copies[0]["id"])
    world.graph.outlook_update(TENANT, users[rooms[1]], copies[1]["id"], at(12))
    await rounds(world, ("o1", "resource", "room1"), ("o1", "resource", "room2"))
    assert ("deleted", meeting) not in await changes(world), "room2 still holds the meeting"


async def _settle(system: System) -> None:
    while await system.deliver_notifications() or not system.host.idle():
        await system.host.pump()


async def test_a_cancelled_outlook_meeting_is_deleted_not_handed_to_a_copy_that_is_cancelled_too() -> None:
    """mailbox_rounds._hand_over (d19f274) hands a meeting whose reporting calendar lost it to
    any other linked calendar with a snapshot of it — also one whose copy is cancelled (a
    cancelled copy's snapshot is kept, `isCancelled` in its content). When the organizer
    cancels the meeting and the other room's round runs first, the reporting room hands the
    meeting to that cancelled copy, `attendee_removed` is reported, and `deleted` never comes."""
    system = System()
    with virtual_time(system.clock):
        try:
            await orgs.connect(system.svc, "o1", TENANT, "Org 1")
            for ident, room in (("room1", "r1"), ("room2", "r2")):
                request = ResourceRequest(ident, address(room), None, None)
                link, _ = await linking.put_resource(system.svc, "o1", request)
                assert link.status == "linked"
            await _settle(system)
            body = {
                "subject": "Planning",
                **at(10),
                "attendees": [{"emailAddress": {"address": address(r)}, "type": "resource"} for r in ("r1", "r2")],
            }
            made = await system.outlook("POST", system.users["x1"], "", body)  # an outsider books both rooms
            system.notifier.take()  # the rounds run by hand: room1's first, so room1 reports it
            for room in ("room1", "room2"):
                await mailbox_rounds.run(system.svc, "o1", "resource", room)
            rows = await feed.read(system.store, "o1", 0, 100)
            assert [(r.type, r.resource) for r in rows] == [("created", "room1")]
            await system.outlook("DELETE", system.users["x1"], f"/{made.body['id']}")  # cancelled: both copies
            system.notifier.take()
            for room in ("room2", "room1", "room2", "room1"):  # room2 sees its copy cancelled first; then again
                await mailbox_rounds.run(system.svc, "o1", "resource", room)
            rows = await feed.read(system.store, "o1", 0, 100)
            assert [r.type for r in rows][-1] == "deleted", [(r.type, r.resource, r.data) for r in rows]
        finally:
            await system.close()


async def test_a_meeting_handed_to_another_calendar_still_reports_the_move_that_made_the_first_one_leave() -> None:
    """After a hand-over (mailbox_rounds._hand_over) the new calendar reports the meeting from
    its snapshot of it. When that calendar's round saw the move before the hand-over (as a
    copy, which only refreshes the snapshot), nothing reports the move: the booking product
    keeps the old time for good. Here room1 declines a move (it is busy then) and room2,
    which took the move first, takes the meeting over."""
    system = System()
    with virtual_time(system.clock):
        try:
            await orgs.connect(system.svc, "o1", TENANT, "Org 1")
            for ident, room in (("room1", "r1"), ("room2", "r2")):
                request = ResourceRequest(ident, address(room), None, None)
                link, _ = await linking.put_resource(system.svc, "o1", request)
                assert link.status == "linked"
            await _settle(system)
            rooms = [{"emailAddress": {"address": address(r)}, "type": "resource"} for r in ("r1", "r2")]
            planning = {"subject": "Planning", **at(10), "attendees": rooms}
            made = await system.outlook("POST", system.users["x1"], "", planning)  # an outsider books both rooms
            system.notifier.take()  # the rounds run by hand: room1's first, so room1 reports it
            for room in ("room1", "room2"):
                await mailbox_rounds.run(system.svc, "o1", "resource", room)
            busy = {"subject": "Other", **at(12), "attendees": rooms[:1]}
            await system.outlook("POST", system.users["x1"], "", busy)  # room1 is taken at 12:00
            await _settle(system)
            await system.outlook("PATCH", system.users["x1"], f"/{made.body['id']}", at(12))  # room1 declines
            system.notifier.take()
            for room in ("room2", "room1", "room2", "room1"):  # room2 sees the move first
                await mailbox_rounds.run(system.svc, "o1", "resource", room)
            meeting = next(r.appointment for r in await feed.read(system.store, "o1", 0, 100) if r.type == "created")
            told = [r for r in await feed.read(system.store, "o1", 0, 100) if r.appointment == meeting]
            moved = [r for r in told if r.type == "updated" and r.data.get("start") == f"{DAY}T12:00:00Z"]
            assert moved and told[-1].type != "deleted", [(r.type, r.resource, r.data) for r in told]
        finally:
            await system.close()


async def test_an_outlook_edit_is_not_taken_for_an_echo_when_we_write_the_event_before_its_round() -> None:
    """c833de7 treats a delta item carrying a changeKey one of our writes got back as an echo
    (inbound.plan: `ours_echo`, event_lookup: target.recent_keys). But our PATCH sends only
    the fields the booking product changed, so the version it answers may hold an Outlook
    edit no round has seen yet (its notification is still queued, or lost): that edit is
    then never reported, and target.written claims the booking's title is in Outlook. Here
    the booking product sets a location while the organizer's retitle waits for its round."""
    world = new_world()
    world.graph.seed(TENANT, [{"userPrincipalName": "ada@contoso.test"}])
    await make_org(world)
    link, _ = await linking.put_worker(world.svc, "o1", WorkerRequest("ada", "ada@contoso.test", None, None))
    assert link.status == "linked"
    await drain_rounds(world)
    body = {"title": "Consult", "start": f"{DAY}T10:00:00Z", "end": f"{DAY}T11:00:00Z", "organizer": "ada"}
    [target] = (await appointments.put(world.svc, "o1", "a1", body))["targets"]
    await drain_rounds(world)
    world.graph.outlook_update(TENANT, target["mailboxId"], target["eventId"], {"subject": "Moved to Friday"})
    await appointments.put(world.svc, "o1", "a1", {**body, "location": "Room 2"})  # before the round runs
    await rounds(world, ("o1", "worker", "ada"))
    rows = await feed.read(world.store, "o1", 0, 10)
    assert [(r.type, r.data.get("title")) for r in rows] == [("updated", "Moved to Friday")]


async def test_an_event_made_in_outlook_while_one_way_is_not_updated_before_it_was_ever_created() -> None:
    """oneWay reports no Outlook change (docs/api.md), but its rounds still keep the snapshot
    (role `created`) and the meeting claim of an event made in Outlook meanwhile. Back in
    twoWay, the event's next edit arrives as `updated` (a deletion as `deleted`) of an
    appointment id the booking product was never told of: the first it hears of an event
    must be `created` (or nothing at all)."""
    world = new_world()
    users = world.graph.seed(TENANT, [{"userPrincipalName": "ada@contoso.test"}])
    await make_org(world, syncMode="oneWay")
    link, _ = await linking.put_worker(world.svc, "o1", WorkerRequest("ada", "ada@contoso.test", None, None))
    assert link.status == "linked"
    await drain_rounds(world)
    ada = users["ada@contoso.test"]
    event = world.graph.outlook_create(TENANT, ada, {"subject": "Dentist", **at(10)})
    await rounds(world, ("o1", "worker", "ada"))
    await orgs.update_settings(world.svc, "o1", {"syncMode": "twoWay"})
    world.queues.take()  # (the catch-up has nothing to do here)
    world.graph.outlook_update(TENANT, ada, event["id"], {"subject": "Dentist (moved)"})
    await rounds(world, ("o1", "worker", "ada"))
    told = await changes(world)
    assert not told or told[0][0] == "created", told


async def test_a_room_that_declines_and_accepts_again_before_its_round_keeps_one_live_meeting() -> None:
    """A room that reported an outsider's meeting declines a move (Exchange removes its copy)
    and accepts the next one (a new copy, a new event id) before the room's next round — two
    quick moves, a late or lost notification, or sync off meanwhile. That round sees a new
    copy of a meeting this mailbox claimed but no snapshot of that event (inbound.plan:
    `k.outlook and prior is None`, taken for "a round that did not finish") and reports
    `created` again, then the old copy's removal as `deleted`: the booking product ends with
    the meeting deleted while the room holds it."""
    system = System()
    with virtual_time(system.clock):
        try:
            await orgs.connect(system.svc, "o1", TENANT, "Org 1")
            request = ResourceRequest("room1", address("r1"), None, None)
            link, _ = await linking.put_resource(system.svc, "o1", request)
            assert link.status == "linked"
            await _settle(system)
            room = [{"emailAddress": {"address": address("r1")}, "type": "resource"}]
            planning = {"subject": "Planning", **at(10), "attendees": room}
            made = await system.outlook("POST", system.users["x1"], "", planning)
            await system.outlook("POST", system.users["s1"], "", {"subject": "Other", **at(12), "attendees": room})
            await _settle(system)
            meeting = meeting_id(made.body["iCalUId"])
            assert [r.type for r in await feed.read(system.store, "o1", 0, 100) if r.appointment == meeting] == [
                "created"
            ]
            await system.outlook("PATCH", system.users["x1"], f"/{made.body['id']}", at(12))  # busy: declined
            await system.outlook("PATCH", system.users["x1"], f"/{made.body['id']}", at(14))  # free: a new copy
            await _settle(system)
            told = [r for r in await feed.read(system.store, "o1", 0, 100) if r.appointment == meeting]
            kinds = [r.type for r in told]
            assert kinds.count("created") == 1 and kinds[-1] != "deleted", [(r.type, r.data) for r in told]
        finally:
            await system.close()
