"""Linking, notifications and mailbox rounds as use cases over the fakes."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from shared.adapters.messages import AppointmentRetry, MailboxSync, MailboxSyncBatch
from shared.adapters.records import ResourceLink, SubscriptionRecord, Target, WorkerLink
from shared.service import feed, linking, mailbox_rounds, reconcile_rounds
from shared.service.link_requests import WorkerRequest
from tests.service.conftest import TENANT, World, make_org, notify, store_link

DAY = "2026-12-08"


async def linked_worker(world: World, worker: str = "w-ada", upn: str = "ada@fabrikam.test") -> WorkerLink:
    world.graph.seed(TENANT, [{"userPrincipalName": upn, "displayName": "Ada"}])
    link, _ = await linking.put_worker(world.svc, "o1", WorkerRequest(worker, upn, None, None))
    assert link.status == "linked", (link.error_code, link.error_message)
    return link


async def drain_rounds(world: World) -> int:
    """Run every queued mailbox round; how many ran."""
    ran = 0
    while batch := world.queues.take(MailboxSyncBatch.QUEUE) or world.queues.take(MailboxSync.QUEUE):
        for work in batch:
            if isinstance(work, MailboxSyncBatch):  # the reconcile timer's rounds
                ran += sum(1 for r in (await reconcile_rounds.run_batch(world.svc, work)).values() if r is not None)
                continue
            await mailbox_rounds.run(
                world.svc, work.org, work.kind, work.owner, notified_at=work.at, marked=work.marked
            )
            ran += 1
    return ran


def notification(record: SubscriptionRecord) -> bytes:
    item = {
        "subscriptionId": record.subscription_id,
        "clientState": record.client_state,
        "tenantId": record.tenant_id,
        "changeType": "updated",
        "resource": f"Users/{record.mailbox_id}/Events/e1",
    }
    return json.dumps({"value": [item]}).encode()


async def test_after_unlinking_this_process_ignores_the_old_subscription_at_once(world: World) -> None:
    await make_org(world)
    link = await linked_worker(world)
    record = await world.store.get(SubscriptionRecord, subscription_id=link.subscription_id or "")
    assert record is not None
    world.queues.take()
    receipt = await notify(world, notification(record), lifecycle=False)
    assert (receipt.accepted, receipt.messages) == (1, 1)  # known: accepted (and now cached)
    assert [m.owner for m in world.queues.take(MailboxSync.QUEUE)] == ["w-ada"]

    await linking.put_worker(world.svc, "o1", WorkerRequest("w-ada", None, None, None))  # blank unlinks
    receipt = await notify(world, notification(record), lifecycle=False)
    assert (receipt.accepted, receipt.ignored, receipt.messages) == (0, 1, 0)
    assert world.queues.take(MailboxSync.QUEUE) == []


async def test_a_round_keeps_what_an_admin_changed_on_the_link_meanwhile(world: World) -> None:
    """The mass-deletion guard writes the link after the round's delta call; an admin's
    change made during that call must survive (the round re-reads before it writes)."""
    await make_org(world)
    link = await linked_worker(world)
    uid = link.m365_user_id or ""
    await drain_rounds(world)  # the baseline round
    made = [
        world.graph.outlook_create(
            TENANT,
            uid,
            {
                "subject": f"Focus {i}",
                "start": {"dateTime": f"{DAY}T{8 + i % 9:02d}:00:00", "timeZone": "UTC"},
                "end": {"dateTime": f"{DAY}T{8 + i % 9:02d}:30:00", "timeZone": "UTC"},
            },
        )
        for i in range(25)
    ]
    await world.svc.queues.send(MailboxSync("o1", "worker", "w-ada"))
    await drain_rounds(world)
    for event in made:
        world.graph.outlook_delete(TENANT, uid, event["id"])

    real_delta = world.graph.delta

    async def delta_while_an_admin_edits(*args: Any, **kwargs: Any) -> Any:
        current = await world.store.get(WorkerLink, org="o1", worker="w-ada")
        assert current is not None
        current.display_name, current.restricted = "Ada Lovelace", True
        await world.store.update(current)
        return await real_delta(*args, **kwargs)

    world.graph.delta = delta_while_an_admin_edits  # type: ignore[method-assign]
    await world.svc.queues.send(MailboxSync("o1", "worker", "w-ada"))
    assert await drain_rounds(world) == 1
    after = await world.store.get(WorkerLink, org="o1", worker="w-ada")
    assert after is not None and after.held_deletions == 25 and after.attention  # the guard held them
    assert (after.display_name, after.restricted) == ("Ada Lovelace", True)  # and the admin's edit stayed
    assert after.last_sync_at == world.clock.now()


async def test_one_way_restores_our_event_edited_in_outlook(world: World) -> None:
    from shared.service import appointments

    await make_org(world, syncMode="oneWay")
    link = await linked_worker(world)
    uid = link.m365_user_id or ""
    body = {"title": "Consult", "start": f"{DAY}T10:00:00", "end": f"{DAY}T11:00:00", "organizer": "w-ada"}
    view = await appointments.put(world.svc, "o1", "a1", body)
    [target] = view["targets"]
    await drain_rounds(world)
    world.graph.outlook_update(TENANT, uid, target["eventId"], {"subject": "Moved by hand"})
    await world.svc.queues.send(MailboxSync("o1", "worker", "w-ada"))
    await drain_rounds(world)
    [retry] = world.queues.take(AppointmentRetry.QUEUE)  # the round asks for the booking's version back
    assert retry == AppointmentRetry("o1", "a1")
    assert await appointments.retry(world.svc, retry.org, retry.appointment, final=False)
    restored = world.graph.event(TENANT, uid, target["eventId"])
    assert restored is not None and restored["subject"] == "Consult"
    stored = await world.store.get(Target, org="o1", appointment="a1", mailbox=uid)
    assert stored is not None and stored.state == "synced"


async def test_a_meeting_booking_two_linked_rooms_is_one_created_appointment(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Someone outside the org books rooms r1 and r2 in one meeting: each room's calendar has a
    copy. Their rounds race; whichever claims the meeting first reports it, once, naming both."""
    users = world.graph.seed(
        TENANT, [{"userPrincipalName": f"{r}@fabrikam.test", "userPurpose": "room"} for r in ("r1", "r2")]
    )
    await make_org(world)
    for room in ("r1", "r2"):
        address = f"{room}@fabrikam.test"
        await store_link(
            world, ResourceLink(org="o1", resource=room, m365_user_id=users[address], mailbox=address, status="linked")
        )
    meeting = {
        "subject": "Offsite",
        "start": {"dateTime": f"{DAY}T09:00:00", "timeZone": "UTC"},
        "end": {"dateTime": f"{DAY}T17:00:00", "timeZone": "UTC"},
        "attendees": [{"emailAddress": {"address": f"{r}@fabrikam.test"}, "type": "resource"} for r in ("r1", "r2")],
    }
    for room in ("r1", "r2"):
        world.graph.outlook_create(
            TENANT,
            users[f"{room}@fabrikam.test"],
            meeting,
            ical_uid="ical-offsite",
            is_organizer=False,
            organizer={"address": "guest@contoso.test", "name": "Guest"},
        )
    # Both rounds look the meeting up before either claims it: a real race.
    real_know, looked, both_looked = mailbox_rounds.know, [], asyncio.Event()

    async def know_together(*args: Any, **kwargs: Any) -> Any:
        found = await real_know(*args, **kwargs)
        looked.append(found)
        if len(looked) == 2:
            both_looked.set()
        if len(looked) <= 2:
            await asyncio.wait_for(both_looked.wait(), 1)
        return found

    monkeypatch.setattr(mailbox_rounds, "know", know_together)
    await asyncio.gather(*(mailbox_rounds.run(world.svc, "o1", "resource", r) for r in ("r1", "r2")))
    assert len(looked) == 3  # the round that lost the claim ran again and found it claimed
    created = [c for c in await feed.read(world.store, "o1", 0, 100) if c.type == "created"]
    assert len(created) == 1
    assert (created[0].data["title"], created[0].data["resources"]) == ("Offsite", ["r1", "r2"])

    # Both rooms see the meeting move; it is one update of that one appointment.
    for room in ("r1", "r2"):
        uid = users[f"{room}@fabrikam.test"]
        [copy] = world.graph.events(TENANT, uid)
        world.graph.outlook_update(TENANT, uid, copy["id"], {"subject": "Offsite (Oslo)"})
    for room in ("r1", "r2"):
        await mailbox_rounds.run(world.svc, "o1", "resource", room)
    updated = [c for c in await feed.read(world.store, "o1", 0, 100) if c.type == "updated"]
    assert [(u.appointment, u.data["title"]) for u in updated] == [(created[0].appointment, "Offsite (Oslo)")]
