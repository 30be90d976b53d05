"""The reconcile timer's rounds: 50 mailboxes to a message, one delta call per idle mailbox."""

from __future__ import annotations

import pytest

from shared.adapters.inbound_records import DeltaState
from shared.adapters.messages import MailboxSync, MailboxSyncBatch
from shared.adapters.records import WorkerLink
from shared.service import feed, linking, maintenance, reconcile_rounds
from shared.service.link_requests import WorkerRequest
from tests.service.conftest import TENANT, World, make_org
from tests.service.test_links_and_rounds import drain_rounds

DAY = "2026-12-08"


async def _linked(world: World, n: int) -> list[WorkerLink]:
    await make_org(world)
    world.graph.seed(TENANT, [{"userPrincipalName": f"u{i:03}@fabrikam.test"} for i in range(n)])
    links = []
    for i in range(n):
        link, _ = await linking.put_worker(
            world.svc, "o1", WorkerRequest(f"w{i:03}", f"u{i:03}@fabrikam.test", None, None)
        )
        links.append(link)
    await drain_rounds(world)  # each link's baseline round
    return links


async def test_reconcile_sends_a_message_per_fifty_mailboxes_and_reads_each_mailbox_once(world: World) -> None:
    await _linked(world, 120)
    deltas = world.graph.count("delta")
    await maintenance.reconcile_org(world.svc, "o1")
    messages = world.queues.take(MailboxSyncBatch.QUEUE)
    assert [len(m.owners) for m in messages] == [50, 50, 20]
    assert sorted(o for m in messages for o in m.owners) == [f"w{i:03}" for i in range(120)]
    for message in messages:
        assert set((await reconcile_rounds.run_batch(world.svc, message)).values()) == {True}
    assert world.graph.count("delta") - deltas == 120
    assert world.queues.take(MailboxSync.QUEUE) == []


async def test_a_batch_round_that_fails_is_queued_again_alone_and_the_others_finish(world: World) -> None:
    links = await _linked(world, 3)
    await maintenance.reconcile_org(world.svc, "o1")
    [batch] = world.queues.take(MailboxSyncBatch.QUEUE)
    world.graph.fail_next(3, "unavailable", operation="delta", mailbox=links[1].m365_user_id)
    done = await reconcile_rounds.run_batch(world.svc, batch)
    assert done == {"w000": True, "w001": None, "w002": True}
    [again] = world.queues.take(MailboxSync.QUEUE)
    assert (again.owner, again.reason) == ("w001", "reconcile")


async def test_a_batch_skips_a_worker_unlinked_after_the_fan_out(world: World) -> None:
    await _linked(world, 2)
    await maintenance.reconcile_org(world.svc, "o1")
    [batch] = world.queues.take(MailboxSyncBatch.QUEUE)
    await linking.put_worker(world.svc, "o1", WorkerRequest("w001", None, None, None))  # blank unlinks
    deltas = world.graph.count("delta")
    assert await reconcile_rounds.run_batch(world.svc, batch) == {"w000": True, "w001": False}
    assert world.graph.count("delta") - deltas == 1


async def test_an_idle_round_keeps_its_delta_link_for_an_hour_and_still_finds_later_changes(world: World) -> None:
    [link] = await _linked(world, 1)
    mailbox = link.m365_user_id or ""
    before = await world.store.get(DeltaState, org="o1", kind="delta", mailbox=mailbox)
    assert before is not None
    world.clock.advance(minutes=15)
    await world.svc.queues.send(MailboxSync("o1", "worker", "w000", reason="reconcile"))
    await drain_rounds(world)
    kept = await world.store.get(DeltaState, org="o1", kind="delta", mailbox=mailbox)
    assert kept is not None and (kept.etag, kept.delta_link) == (before.etag, before.delta_link)  # nothing written
    stamped = await world.store.get(WorkerLink, org="o1", worker="w000")
    assert stamped is not None and stamped.last_sync_at == world.clock.now()  # the link still says it synced

    world.graph.outlook_create(
        TENANT,
        mailbox,
        {
            "subject": "Made in Outlook",
            "start": {"dateTime": f"{DAY}T09:00:00", "timeZone": "UTC"},
            "end": {"dateTime": f"{DAY}T09:30:00", "timeZone": "UTC"},
        },
    )
    await world.svc.queues.send(MailboxSync("o1", "worker", "w000"))
    await drain_rounds(world)  # reads from the kept deltaLink
    assert [feed.change_view(c)["data"].get("title") for c in await feed.read(world.store, "o1", 0, 10)] == [
        "Made in Outlook"
    ]


@pytest.mark.parametrize("minutes", [59, 61])
async def test_an_idle_round_refreshes_a_delta_link_an_hour_old(world: World, minutes: int) -> None:
    [link] = await _linked(world, 1)
    mailbox = link.m365_user_id or ""
    before = await world.store.get(DeltaState, org="o1", kind="delta", mailbox=mailbox)
    assert before is not None
    world.clock.advance(minutes=minutes)
    await world.svc.queues.send(MailboxSync("o1", "worker", "w000", reason="reconcile"))
    await drain_rounds(world)
    after = await world.store.get(DeltaState, org="o1", kind="delta", mailbox=mailbox)
    assert after is not None and (after.etag != before.etag) == (minutes >= 60)
