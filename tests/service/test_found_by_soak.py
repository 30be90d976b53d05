"""Bugs bench/soak.py found over the real stack (two instances), each as a plain regression
test through the use cases (bench/soak_repro.py has the HTTP-level scenarios)."""

from __future__ import annotations

from typing import Any

import pytest

from shared.adapters.messages import MailboxSync
from shared.adapters.records import EventRef, Target
from shared.service import appointments, feed, linking, mailbox_rounds
from shared.service.link_requests import ResourceRequest, WorkerRequest
from tests.service.conftest import TENANT, World, make_org
from tests.service.test_links_and_rounds import drain_rounds

DAY = "2026-12-08"


def body(**kw: Any) -> dict[str, Any]:
    return {"title": "Consult", "start": f"{DAY}T10:00:00Z", "end": f"{DAY}T11:00:00Z", "organizer": "ada", **kw}


async def setup(world: World, *orgs: str, rooms: tuple[str, ...] = ()) -> dict[str, str]:
    users = world.graph.seed(
        TENANT,
        [{"userPrincipalName": "ada@contoso.test"}]
        + [{"userPrincipalName": f"{r}@contoso.test", "displayName": r.title(), "userPurpose": "room"} for r in rooms],
    )
    for org in orgs:
        await make_org(world, org)
        link, _ = await linking.put_worker(world.svc, org, WorkerRequest("ada", "ada@contoso.test", None, None))
        assert link.status == "linked"
        for room in rooms:
            request = ResourceRequest(room, f"{room}@contoso.test", None, None)
            res, _ = await linking.put_resource(world.svc, org, request)
            assert res.status == "linked"
    await drain_rounds(world)
    return users


async def round_of(world: World, org: str, owner: str = "ada", kind: str = "worker") -> None:
    await world.svc.queues.send(MailboxSync(org, kind, owner))
    await drain_rounds(world)


async def types(world: World, org: str) -> list[str]:
    return [c.type for c in await feed.read(world.store, org, 0, 100)]


def between_delta_and_lookup(world: World, action: Any) -> None:
    """Run `action` once, after the next delta round is read and before it is looked up: the
    race two instances have (one writes while the other's round is in flight)."""
    real = world.graph.delta

    async def delta(*args: Any, **kwargs: Any) -> Any:
        world.graph.delta = real  # type: ignore[method-assign]
        found = await real(*args, **kwargs)
        await action()
        return found

    world.graph.delta = delta  # type: ignore[method-assign]


async def test_our_event_deleted_while_a_round_reads_it_is_no_ones_news(world: World) -> None:
    """create_then_delete: the round lists the event, we delete it before it is looked up; the
    lookup found no index and no tag and took it for an Outlook event — in another org too."""
    await setup(world, "o1", "o2")
    await appointments.put(world.svc, "o2", "a1", body())
    between_delta_and_lookup(world, lambda: appointments.delete(world.svc, "o2", "a1"))
    await round_of(world, "o1")
    await round_of(world, "o2")
    assert await types(world, "o1") == [] and await types(world, "o2") == []


async def test_replacing_our_meeting_with_a_copy_is_not_an_outlook_deletion(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """organizer_leaves: the organizer's meeting becomes a plain copy (Delete + Create in one
    calendar). A round on another instance read the old event's removal and its snapshot
    before our delete dropped them, and looked the event up after its index was gone: the
    deletion, ours, was reported as one made in Outlook."""
    await setup(world, "o1")
    await appointments.put(world.svc, "o1", "a1", body())
    await round_of(world, "o1")  # the round has seen our meeting
    await linking.put_worker(world.svc, "o1", WorkerRequest("bob", None, None, None))  # registered, not linked
    deferred: list[tuple[Any, dict[str, str]]] = []
    real_delete_key = world.store.delete_key

    async def later(cls: Any, **key: str) -> None:
        deferred.append((cls, key))  # our delete has not got this far yet

    monkeypatch.setattr(world.store, "delete_key", later)
    await appointments.put(world.svc, "o1", "a1", body(organizer="bob", attendees=["ada"]))
    monkeypatch.setattr(world.store, "delete_key", real_delete_key)
    real_know = mailbox_rounds.know

    async def know_after_our_delete(*args: Any, **kwargs: Any) -> Any:
        while deferred and deferred[0][0] is EventRef:  # the index goes between gather and lookup
            cls, key = deferred.pop(0)
            await real_delete_key(cls, **key)
        return await real_know(*args, **kwargs)

    monkeypatch.setattr(mailbox_rounds, "know", know_after_our_delete)
    await round_of(world, "o1")
    assert "deleted" not in await types(world, "o1")
    [target] = [t async for t in world.store.query(Target, org="o1") if t.state == "synced"]
    assert target.role == "copy"


async def test_a_stale_delta_item_of_our_first_write_is_not_an_outlook_edit(world: World) -> None:
    """quick_second_write: the round read our event as first written, we moved it before the
    lookup; comparing the old version with the new write made it an `updated`."""
    await setup(world, "o1")
    await appointments.put(world.svc, "o1", "a1", body())
    moved = body(start=f"{DAY}T13:00:00Z", end=f"{DAY}T14:00:00Z")
    between_delta_and_lookup(world, lambda: appointments.put(world.svc, "o1", "a1", moved))
    await round_of(world, "o1")
    await round_of(world, "o1")
    assert await types(world, "o1") == []


async def test_a_deletion_no_round_saw_is_found_by_the_fresh_round_after_an_expired_token(world: World) -> None:
    """deletion_unseen_then_expired: our event deleted in Outlook before any round saw it,
    then the delta token expired; the fresh round looked for deletions only among snapshots."""
    users = await setup(world, "o1")
    view = await appointments.put(world.svc, "o1", "a1", body())
    ada = users["ada@contoso.test"]
    world.graph.outlook_delete(TENANT, ada, view["targets"][0]["eventId"])
    world.graph.expire_delta(TENANT, ada)
    await round_of(world, "o1")
    assert await types(world, "o1") == ["deleted"]


async def test_a_lost_answer_to_our_patch_is_not_an_outlook_edit_of_the_room_location(world: World) -> None:
    """lost_patch_answer_room_location: the meeting's location comes from its room; Graph
    applied our PATCH to another room but the answer was lost, so what we had written was
    stale and the room-made location looked like an Outlook edit."""
    await setup(world, "o1", rooms=("room0", "room1"))
    await appointments.put(world.svc, "o1", "a1", body(resources=["room0"]))
    await round_of(world, "o1")
    world.graph.fail_next(1, "lost_answer", operation="update_event")
    view = await appointments.put(world.svc, "o1", "a1", body(resources=["room1"]))
    assert view["targets"][0]["state"] == "pending"
    await round_of(world, "o1")
    assert "updated" not in await types(world, "o1")


async def test_an_outlook_edit_carried_in_the_answer_to_our_patch_is_still_reported(world: World) -> None:
    """Found by the model-based test after the fix above first took changeKeys of our writes
    for echoes: the answer to our PATCH of the location carries a title edited in Outlook
    just before; that version is not only ours."""
    users = await setup(world, "o1")
    await linking.put_worker(world.svc, "o1", WorkerRequest("bob", None, None, None))
    view = await appointments.put(world.svc, "o1", "a1", body())
    await round_of(world, "o1")
    ada = users["ada@contoso.test"]
    world.graph.outlook_update(TENANT, ada, view["targets"][0]["eventId"], {"subject": "Consult (edited)"})
    await appointments.put(world.svc, "o1", "a1", body(location="Room 9"))  # no round in between
    await round_of(world, "o1")
    [change] = await feed.read(world.store, "o1", 0, 100)
    assert (change.type, change.data["title"], change.data["changed"]) == ("updated", "Consult (edited)", ["title"])


async def test_an_outlook_move_back_to_a_time_we_wrote_before_is_reported(world: World) -> None:
    """Found by the soak after the stale-item fix first compared with our earlier writes'
    content alone: a person moving our event back to where we had put it before is an edit
    (its changeKey is Outlook's, not one Graph answered to us)."""
    users = await setup(world, "o1")
    await appointments.put(world.svc, "o1", "a1", body())
    view = await appointments.put(world.svc, "o1", "a1", body(start=f"{DAY}T13:00:00Z", end=f"{DAY}T14:00:00Z"))
    await round_of(world, "o1")
    back = {
        "start": {"dateTime": f"{DAY}T10:00:00", "timeZone": "UTC"},
        "end": {"dateTime": f"{DAY}T11:00:00", "timeZone": "UTC"},
    }
    world.graph.outlook_update(TENANT, users["ada@contoso.test"], view["targets"][0]["eventId"], back)
    await round_of(world, "o1")
    [change] = await feed.read(world.store, "o1", 0, 100)
    assert (change.type, change.data["start"]) == ("updated", f"{DAY}T10:00:00Z")


async def test_an_outlook_deletion_after_a_round_died_past_its_commit_is_reported(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The soak's lost deletions (seed 655214): an instance killed after a round committed its
    `created` change and the new deltaLink, before it wrote the event's snapshot. The delta
    never lists the event again, so its later `@removed` found nothing known and was dropped."""
    users = await setup(world, "o1")
    made = world.graph.outlook_create(
        TENANT,
        users["ada@contoso.test"],
        {
            "subject": "Own",
            "start": {"dateTime": f"{DAY}T08:00:00", "timeZone": "UTC"},
            "end": {"dateTime": f"{DAY}T09:00:00", "timeZone": "UTC"},
        },
    )
    real = feed.commit

    async def commit_then_die(*args: Any, **kwargs: Any) -> Any:
        monkeypatch.setattr(feed, "commit", real)
        await real(*args, **kwargs)
        raise RuntimeError("SIGKILL")  # the instance dies right after the commit

    monkeypatch.setattr(feed, "commit", commit_then_die)
    with pytest.raises(RuntimeError):
        await round_of(world, "o1")
    await round_of(world, "o1")  # the queue's retry, on another instance
    assert await types(world, "o1") == ["created"]
    world.graph.outlook_delete(TENANT, users["ada@contoso.test"], made["id"])
    await round_of(world, "o1")
    assert await types(world, "o1") == ["created", "deleted"]


async def test_a_one_way_restore_is_not_lost_when_the_round_dies_after_its_commit(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same shape as the lost deletions: `restored` was committed, the instance died
    before sending the restore, and Outlook kept the edit."""
    from shared.service import orgs

    users = await setup(world, "o1")
    await orgs.update_settings(world.svc, "o1", {"syncMode": "oneWay"})
    [target] = (await appointments.put(world.svc, "o1", "a1", body()))["targets"]
    await round_of(world, "o1")
    world.graph.outlook_update(TENANT, users["ada@contoso.test"], target["eventId"], {"subject": "Mine now"})
    real = feed.commit

    async def commit_then_die(*args: Any, **kwargs: Any) -> Any:
        monkeypatch.setattr(feed, "commit", real)
        await real(*args, **kwargs)
        raise RuntimeError("SIGKILL")

    monkeypatch.setattr(feed, "commit", commit_then_die)
    with pytest.raises(RuntimeError):
        await round_of(world, "o1")
    await round_of(world, "o1")  # the next round of the mailbox finishes what the dead one committed
    while world.queues.take("appointment-sync"):
        assert await appointments.retry(world.svc, "o1", "a1", final=False)
    [event] = world.graph.events(TENANT, users["ada@contoso.test"])
    assert event["subject"] == "Consult"
    assert await types(world, "o1") == ["restored"]


async def test_the_removal_of_an_exception_we_wrote_after_its_series_went_is_not_a_deletion(world: World) -> None:
    """The soak's a415: a person moved an occurrence, the booking product applied it (our write
    of the exception), the person deleted the series — reported once — and a later round listed
    the exception's removal: its snapshot had gone with the series, our index of it had not,
    and it was reported `deleted` a second time as an event of its own."""
    users = await setup(world, "o1")
    ada = users["ada@contoso.test"]
    await appointments.put(world.svc, "o1", "a1", body())
    await round_of(world, "o1")
    # What our occurrence write leaves behind once the series is gone.
    exception = EventRef(mailbox=ada, event_id="X-1", org="o1", appointment="a1", role="organizer", series="M-1")
    await world.store.upsert(exception)
    real = world.graph.delta

    async def later_removal(*args: Any, **kwargs: Any) -> Any:
        world.graph.delta = real  # type: ignore[method-assign]
        items, link = await real(*args, **kwargs)
        return [*items, {"id": "X-1", "@removed": {"reason": "deleted"}}], link

    world.graph.delta = later_removal  # type: ignore[method-assign]
    await round_of(world, "o1")
    assert await types(world, "o1") == []


async def test_an_update_whose_event_the_booking_product_deleted_meanwhile_does_not_make_it_again(
    world: World,
) -> None:
    """The soak's a2578: a push's PATCH found our event gone (404) and made it again — but the
    booking product had deleted the appointment meanwhile, and the event stayed behind."""
    users = await setup(world, "o1")
    ada = users["ada@contoso.test"]
    await appointments.put(world.svc, "o1", "a1", body())
    real = world.graph.update_event

    async def deleted_first(*args: Any, **kwargs: Any) -> Any:
        world.graph.update_event = real  # type: ignore[method-assign]
        await appointments.delete(world.svc, "o1", "a1")  # lands while our PATCH is on its way
        return await real(*args, **kwargs)

    world.graph.update_event = deleted_first  # type: ignore[method-assign]
    await appointments.put(world.svc, "o1", "a1", body(title="Consult (moved)"))
    assert world.graph.events(TENANT, ada) == []
    targets = (await appointments.get(world.svc, "o1", "a1"))["targets"]
    assert targets == []  # nothing left pending or synced


async def test_a_one_way_restore_finished_by_another_instance_meanwhile_is_done_once(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The soak's feed_echo (seed 919569, a585, a booking with a room): Outlook deleted our
    event in oneWay. One instance's round committed `restored` and put the event back (the
    push made it again), but had not yet cleared its staged work when the other instance's
    round of the mailbox took that work for a dead round's and did it again: it took the new
    event for the deleted one and dropped our index of it, so that round and the push that
    followed each had the new event wrong (there, a second `restored`)."""
    from shared.service import orgs, snapshots

    users = await setup(world, "o1", rooms=("room1",))
    ada = users["ada@contoso.test"]
    await orgs.update_settings(world.svc, "o1", {"syncMode": "oneWay"})
    targets = (await appointments.put(world.svc, "o1", "a1", body(resources=["room1"])))["targets"]
    await round_of(world, "o1")
    await round_of(world, "o1", "room1", "resource")
    world.graph.outlook_delete(TENANT, ada, next(t["eventId"] for t in targets if t["role"] == "organizer"))
    real, writes = snapshots.move, world.graph.count("create_event") + world.graph.count("update_event")

    async def pushes() -> None:
        while world.queues.take("appointment-sync"):
            assert await appointments.retry(world.svc, "o1", "a1", final=False)

    async def other_instance_meanwhile(*args: Any, **kwargs: Any) -> Any:
        monkeypatch.setattr(snapshots, "move", real)
        await pushes()  # the push the first round's restore asked for makes the event again
        await mailbox_rounds._round(world.svc, "o1", "worker", "ada")  # another instance's round
        return await real(*args, **kwargs)

    monkeypatch.setattr(snapshots, "move", other_instance_meanwhile)
    await round_of(world, "o1")
    await pushes()
    await round_of(world, "o1")  # what Outlook now holds, read back
    [event] = world.graph.events(TENANT, ada)
    assert event["subject"] == "Consult"
    assert await types(world, "o1") == ["restored"]
    # Put back with one write: nothing took the new event for the deleted one.
    assert world.graph.count("create_event") + world.graph.count("update_event") == writes + 1
    [target] = [t for t in (await appointments.get(world.svc, "o1", "a1"))["targets"] if t["role"] == "organizer"]
    assert (target["state"], target["eventId"]) == ("synced", event["id"])


async def test_a_series_restore_done_again_after_the_series_was_made_anew_leaves_it(world: World) -> None:
    """The same race for a series (oneWay): an occurrence cancelled in Outlook cannot come back,
    so its restore makes the series again. Done a second time by the round that took the
    staged work for a dead round's, it would make the new series again too (every attendee
    invited a third time); and an occurrence edit would be written over the new series."""
    from shared.core import inbound
    from shared.service import round_targets

    org = await make_org(world, "o1")
    renewed = Target(
        org="o1", appointment="a1", mailbox="uid-ada", address="ada@contoso.test", role="organizer",
        owner_kind="worker", owner_id="ada", event_id="M-new", state="synced", written={"subject": "Weekly"},
    )  # fmt: skip
    await world.store.upsert(renewed)
    stale = inbound.Plan(
        restore_occurrences={"a1": {"2026-12-08": True, "2026-12-15": False}}, restore_events={"a1": "M-old"}
    )
    await round_targets.restore(world.svc, org, "uid-ada", stale)
    after = await world.store.get(Target, org="o1", appointment="a1", mailbox="uid-ada")
    assert after is not None
    assert (after.state, after.event_id, after.renew, after.occurrences) == ("synced", "M-new", False, {})
    assert world.queues.take("appointment-sync") == []  # no push asked for
    # The restore as first planned, for the series still there, is carried out.
    await round_targets.restore(
        world.svc, org, "uid-ada", inbound.Plan(**{**stale.__dict__, "restore_events": {"a1": "M-new"}})
    )
    after = await world.store.get(Target, org="o1", appointment="a1", mailbox="uid-ada")
    assert after is not None and after.renew and after.occurrences == {"2026-12-15": {"restore": True}}


async def test_a_room_answer_noted_while_a_new_organizer_event_is_saved_keeps_what_we_wrote(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The soak's a512 (seed 919569, at 1887189): re-attended so that cyd, who held a copy,
    organizes the meeting with a room. While the push made the new event, a round of cyd noted
    the room's answer on the target; the push's save lost that race and, keeping "the fields
    the round took out of `written`", kept none — the old copy's deletion had left `written`
    empty. A later retitle in Outlook was then reported with `location` changed too."""
    users = world.graph.seed(
        TENANT,
        [{"userPrincipalName": f"{p}@contoso.test"} for p in ("ada", "cyd")]
        + [{"userPrincipalName": "room1@contoso.test", "displayName": "Room 1", "userPurpose": "room"}],
    )
    cyd = users["cyd@contoso.test"]
    await make_org(world, "o1")
    for w in ("ada", "cyd"):
        link, _ = await linking.put_worker(world.svc, "o1", WorkerRequest(w, f"{w}@contoso.test", None, None))
        assert link.status == "linked"
    await linking.put_worker(world.svc, "o1", WorkerRequest("eve", None, None, None))  # no mailbox
    room, _ = await linking.put_resource(world.svc, "o1", ResourceRequest("r1", "room1@contoso.test", None, None))
    assert room.status == "linked"
    await drain_rounds(world)
    await appointments.put(world.svc, "o1", "a1", body(organizer="eve", attendees=["ada", "cyd"]))
    await round_of(world, "o1", "cyd")
    real = world.graph.create_event

    async def room_answers_meanwhile(tenant: str, mailbox: str, event: dict[str, Any], **kw: Any) -> Any:
        made = await real(tenant, mailbox, event, **kw)
        if mailbox == cyd:
            world.graph.create_event = real  # type: ignore[method-assign]
            world.graph.outlook_respond(TENANT, cyd, made["id"], "room1@contoso.test", "accepted")
            await mailbox_rounds._round(world.svc, "o1", "worker", "cyd")  # notes it on the target
        return made

    world.graph.create_event = room_answers_meanwhile  # type: ignore[method-assign]
    view = await appointments.put(world.svc, "o1", "a1", body(organizer="cyd", resources=["r1"]))
    [organizer] = [t for t in view["targets"] if t["role"] == "organizer"]
    assert organizer["responses"] == {"room1@contoso.test": "accepted"}
    await round_of(world, "o1", "cyd")
    before = len(await feed.read(world.store, "o1", 0, 100))
    world.graph.outlook_update(TENANT, cyd, organizer["eventId"], {"subject": "Mine now"})
    await round_of(world, "o1", "cyd")
    [change] = (await feed.read(world.store, "o1", 0, 100))[before:]
    assert (change.type, change.data["changed"]) == ("updated", ["title"])


async def test_another_orgs_meeting_in_a_shared_room_seen_before_its_index_is_no_news(world: World) -> None:
    """The soak's a750 (seed 452766): org A's worker cyd booked a meeting in a room org B links
    too; org B's round of the room saw the room's copy before org A's index of the meeting was
    written, and cyd is no worker of org B's, so nothing told it the meeting was org A's: it
    reported a reservation made in Outlook (`created`), and later its deletion."""
    users = world.graph.seed(
        TENANT,
        [
            {"userPrincipalName": "cyd@contoso.test"},
            {"userPrincipalName": "fuji@contoso.test", "displayName": "Fuji", "userPurpose": "room"},
        ],
    )
    for org in ("oa", "ob"):
        await make_org(world, org)
        room, _ = await linking.put_resource(world.svc, org, ResourceRequest("fuji", "fuji@contoso.test", None, None))
        assert room.status == "linked"
    link, _ = await linking.put_worker(world.svc, "oa", WorkerRequest("cyd", "cyd@contoso.test", None, None))
    assert link.status == "linked"
    await drain_rounds(world)
    real = world.graph.create_event

    async def room_copy_seen_at_once(tenant: str, mailbox: str, event: dict[str, Any], **kw: Any) -> Any:
        world.graph.create_event = real  # type: ignore[method-assign]
        made = await real(tenant, mailbox, event, **kw)
        world.graph.outlook_create(  # the room accepts: its copy (the fakes do not make it)
            TENANT,
            users["fuji@contoso.test"],
            {"subject": "Cyd Test", "start": made["start"], "end": made["end"]},
            ical_uid=made["iCalUId"],
            is_organizer=False,
            organizer={"address": "cyd@contoso.test", "name": "Cyd"},
        )
        await mailbox_rounds._round(world.svc, "ob", "resource", "fuji")  # org B's round, meanwhile
        return made

    world.graph.create_event = room_copy_seen_at_once  # type: ignore[method-assign]
    await appointments.put(world.svc, "oa", "a1", body(organizer="cyd", resources=["fuji"]))
    await round_of(world, "ob", "fuji", "resource")
    assert await types(world, "ob") == []


async def test_a_create_whose_last_try_failed_is_looked_up_and_deleted_with_its_appointment(world: World) -> None:
    """Found reading the outbound planner's survivors: the last try of a create can fail after
    Graph made the event (the answer lost), so a `failed` target may have an event in Outlook.
    Deleting the appointment must find it by our property and delete it, not leave it behind."""
    users = await setup(world, "o1")
    ada = users["ada@contoso.test"]
    world.graph.fail_next(50, "lost_answer", operation="create_event")  # made, every answer lost
    view = await appointments.put(world.svc, "o1", "a1", body())
    assert [t["state"] for t in view["targets"]] == ["pending"]
    world.graph.faults.clear()
    world.graph.fail_next(50, "unavailable", operation="find_events")  # the last try cannot look
    await appointments.retry(world.svc, "o1", "a1", final=True)
    [target] = (await appointments.get(world.svc, "o1", "a1"))["targets"]
    assert target["state"] == "failed"
    world.graph.faults.clear()
    assert [e["subject"] for e in world.graph.events(TENANT, ada)] == ["Consult"]  # it is there

    assert (await appointments.delete(world.svc, "o1", "a1"))["targets"] == []  # nothing left pending
    assert world.graph.events(TENANT, ada) == []
