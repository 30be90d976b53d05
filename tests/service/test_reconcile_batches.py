"""The reconcile timer's rounds: 50 mailboxes to a message, one delta call per idle mailbox."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.adapters.inbound_records import DeltaState
from shared.adapters.messages import MailboxSync, MailboxSyncBatch, OrgReconcile
from shared.adapters.records import SubscriptionRecord, WorkerLink
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


async def _reconcile_pass(world: World) -> None:
    await maintenance.reconcile_org(world.svc, "o1")
    for batch in world.queues.take(MailboxSyncBatch.QUEUE):
        await reconcile_rounds.run_batch(world.svc, batch)


async def test_a_link_its_subscription_no_longer_counts_is_watched_again_within_an_hour(world: World) -> None:
    links = await _linked(world, 8)
    lost = links[3]
    record = await world.store.get(SubscriptionRecord, subscription_id=lost.subscription_id or "")
    assert record is not None
    record.watchers = [{"org": "o9", "kind": "worker", "owner": "someone-else"}]  # a race left it out
    await world.store.upsert(record)
    for _ in range(4):  # an hour of 15-minute passes
        world.clock.advance(minutes=15)
        await _reconcile_pass(world)
    again = await world.store.get(SubscriptionRecord, subscription_id=lost.subscription_id or "")
    link = await world.store.get(WorkerLink, org="o1", worker="w003")
    assert link is not None and link.status == "linked"
    watched = await world.store.get(SubscriptionRecord, subscription_id=link.subscription_id or "")
    assert watched is not None and ("o1", "worker", "w003") in watched.watching(), again


async def test_an_idle_pass_reads_a_quarter_of_the_subscription_records(world: World) -> None:
    """The record check is spread over the passes: each link once an hour, not every pass."""
    links = await _linked(world, 40)
    ids = {link.subscription_id for link in links}
    reads: list[str] = []
    real_get = world.store.get

    async def counting_get(cls, **key):  # type: ignore[no-untyped-def]
        if cls is SubscriptionRecord and key.get("subscription_id") in ids:
            reads.append(key["subscription_id"])
        return await real_get(cls, **key)

    world.store.get = counting_get  # type: ignore[method-assign]
    per_pass = []
    for _ in range(4):
        world.clock.advance(minutes=15)
        before = len(reads)
        await _reconcile_pass(world)
        per_pass.append(len(reads) - before)
    assert sorted(reads) == sorted(ids)  # every link's record once in the hour
    assert max(per_pass) < 20  # not all 40 in one pass


async def test_an_expired_subscription_is_replaced_on_the_next_pass(world: World) -> None:
    links = await _linked(world, 2)
    old = links[0].subscription_id
    await linking_expire(world, "w000")
    await _reconcile_pass(world)
    link = await world.store.get(WorkerLink, org="o1", worker="w000")
    assert link is not None and link.subscription_id and link.subscription_id != old
    assert link.subscription_expires_at is not None and link.subscription_expires_at > world.clock.now()


async def linking_expire(world: World, worker: str) -> None:
    link = await world.store.get(WorkerLink, org="o1", worker=worker)
    assert link is not None
    link.subscription_expires_at = world.clock.now() - timedelta(minutes=1)
    await world.store.update(link)


async def test_an_idle_batch_stamps_every_link_in_one_write(world: World) -> None:
    await _linked(world, 30)
    world.clock.advance(minutes=15)
    await maintenance.reconcile_org(world.svc, "o1")
    [batch] = world.queues.take(MailboxSyncBatch.QUEUE)
    calls: list[str] = []
    real_update, real_submit = world.store.update, world.store.submit

    async def update(entity):  # type: ignore[no-untyped-def]
        calls.append(f"update {type(entity).__name__}")
        return await real_update(entity)

    async def submit(ops):  # type: ignore[no-untyped-def]
        calls.append(f"transaction of {len(ops)} {type(ops[0][1]).__name__}")
        return await real_submit(ops)

    world.store.update, world.store.submit = update, submit  # type: ignore[method-assign]
    assert set((await reconcile_rounds.run_batch(world.svc, batch)).values()) == {True}
    assert calls == ["transaction of 30 WorkerLink"]
    stamped = [link async for link in world.store.query(WorkerLink, org="o1")]
    assert {link.last_sync_at for link in stamped} == {world.clock.now()}


async def test_a_link_an_admin_changed_during_the_batch_keeps_the_change_and_its_stamp(world: World) -> None:
    await _linked(world, 3)
    world.clock.advance(minutes=15)
    await maintenance.reconcile_org(world.svc, "o1")
    [batch] = world.queues.take(MailboxSyncBatch.QUEUE)
    real_delta = world.graph.delta

    async def delta_while_an_admin_renames(*args, **kwargs):  # type: ignore[no-untyped-def]
        answer = await real_delta(*args, **kwargs)
        admin = await world.store.get(WorkerLink, org="o1", worker="w001")
        if admin is not None and admin.display_name != "Renamed":
            admin.display_name = "Renamed"
            await world.store.update(admin)
        return answer

    world.graph.delta = delta_while_an_admin_renames  # type: ignore[method-assign]
    await reconcile_rounds.run_batch(world.svc, batch)
    links = {link.worker: link async for link in world.store.query(WorkerLink, org="o1")}
    assert links["w001"].display_name == "Renamed"
    assert {link.last_sync_at for link in links.values()} == {world.clock.now()}


async def test_a_large_orgs_batches_start_five_a_second_so_its_links_partition_is_not_hit_at_once(
    world: World,
) -> None:
    await _linked(world, 600)  # 12 batches
    await maintenance.reconcile_org(world.svc, "o1")
    started = []
    for _ in range(3):
        started.append(len(world.queues.take(MailboxSyncBatch.QUEUE)))
        world.clock.advance(seconds=1)
    assert started == [5, 5, 2]


async def test_many_orgs_passes_start_ten_orgs_a_second(world: World) -> None:
    for i in range(25):
        await make_org(world, f"org{i:02}")
    assert await maintenance.enqueue_reconcile(world.svc) == 25
    started = []
    for _ in range(3):
        started.append(len(world.queues.take(OrgReconcile.QUEUE)))
        world.clock.advance(seconds=1)
    assert started == [10, 10, 5]
