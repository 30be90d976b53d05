"""Two orgs on one Microsoft 365 tenant watching the same mailbox: one Graph subscription
serves both (Graph refuses a second one for the same app and resource), each hears of the
mailbox's changes, neither ever hears of the other's bookings."""

from __future__ import annotations

from shared.adapters.messages import MailboxSync, MailboxSyncBatch
from shared.adapters.records import MailboxSubscription, SubscriptionRecord, WorkerLink
from shared.service import appointments, feed, linking, maintenance, offboarding
from shared.service.link_requests import WorkerRequest
from tests.service.conftest import TENANT, World, make_org, notify
from tests.service.test_delta_window import when
from tests.service.test_links_and_rounds import drain_rounds, notification


async def two_orgs_on_alex(world: World) -> str:
    users = world.graph.seed(TENANT, [{"userPrincipalName": "alex@contoso.test"}])
    for org in ("demo", "demo3"):
        await make_org(world, org)
        link, _ = await linking.put_worker(world.svc, org, WorkerRequest("alex", "alex@contoso.test", None, None))
        assert link.status == "linked", link.error_message
    await drain_rounds(world)
    return users["alex@contoso.test"]


async def links(world: World) -> dict[str, WorkerLink]:
    return {org: await world.store.get(WorkerLink, org=org, worker="alex") for org in ("demo", "demo3")}


async def test_one_subscription_serves_both_orgs_and_a_notification_starts_a_round_for_each(world: World) -> None:
    await two_orgs_on_alex(world)
    assert len(world.graph.subscriptions(TENANT)) == 1
    both = await links(world)
    assert both["demo"].subscription_id == both["demo3"].subscription_id
    record = await world.store.get(SubscriptionRecord, subscription_id=both["demo"].subscription_id)
    assert record is not None and sorted(o for o, _, _ in record.watching()) == ["demo", "demo3"]
    await notify(world, notification(record), lifecycle=False)
    assert sorted(m.org for m in world.queues.take(MailboxSync.QUEUE)) == ["demo", "demo3"]


async def test_deleting_one_org_keeps_the_subscription_for_the_other_and_reconcile_keeps_it(world: World) -> None:
    await two_orgs_on_alex(world)
    sub = (await links(world))["demo"].subscription_id
    await offboarding.delete_org(world.svc, "demo3")
    assert [s.id for s in world.graph.subscriptions(TENANT)] == [sub]
    record = await world.store.get(SubscriptionRecord, subscription_id=sub or "")
    assert record is not None and record.watching() == [("demo", "worker", "alex")]
    creates = world.graph.count("create_subscription")
    await maintenance.reconcile_org(world.svc, "demo")
    assert world.graph.count("create_subscription") == creates  # nothing to recreate: it is healthy
    assert [(m.reason, m.owners) for m in world.queues.take(MailboxSyncBatch.QUEUE)] == [("reconcile", ["alex"])]
    await notify(world, notification(record), lifecycle=False)
    assert [m.org for m in world.queues.take(MailboxSync.QUEUE)] == ["demo"]

    # The last watcher leaving deletes it at Graph.
    await linking.put_worker(world.svc, "demo", WorkerRequest("alex", None, None, None))
    assert world.graph.subscriptions(TENANT) == []
    assert await world.store.get(MailboxSubscription, tenant_id=TENANT, mailbox_id=record.mailbox_id) is None


async def test_a_409_for_a_subscription_of_ours_is_joined_not_replaced(world: World) -> None:
    users = world.graph.seed(TENANT, [{"userPrincipalName": "alex@contoso.test"}])
    await make_org(world, "demo")
    await make_org(world, "demo3")
    first, _ = await linking.put_worker(world.svc, "demo", WorkerRequest("alex", "alex@contoso.test", None, None))
    # demo3's link runs before demo's index row is visible to it (a race): Graph answers 409.
    await world.store.delete_key(MailboxSubscription, tenant_id=TENANT, mailbox_id=users["alex@contoso.test"])
    second, _ = await linking.put_worker(world.svc, "demo3", WorkerRequest("alex", "alex@contoso.test", None, None))
    assert second.status == "linked" and second.subscription_id == first.subscription_id
    assert [s.id for s in world.graph.subscriptions(TENANT)] == [first.subscription_id]


async def test_one_orgs_booking_is_never_reported_to_the_other_org(world: World) -> None:
    alex = await two_orgs_on_alex(world)
    body = {
        "title": "Board review (confidential)",
        "start": when(world, 3)["dateTime"],
        "end": when(world, 3, 11)["dateTime"],
        "organizer": "alex",
        "body": "numbers",
    }
    await appointments.put(world.svc, "demo", "a1", body)
    for org in ("demo", "demo3"):
        await world.svc.queues.send(MailboxSync(org, "worker", "alex"))
    await drain_rounds(world)
    assert [e["subject"] for e in world.graph.events(TENANT, alex)] == ["Board review (confidential)"]
    assert await feed.read(world.store, "demo3", 0, 10) == []
    assert await feed.read(world.store, "demo", 0, 10) == []  # and our own write is no news to demo
