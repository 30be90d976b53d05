"""Notifications coalesce where their messages are read: a message whose notification came
before a round of its mailbox began (by the clock margin) is covered by that round and
costs no Graph call; the acknowledgement itself writes nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest

from shared.adapters.inbound_records import QueuedRound
from shared.adapters.messages import MailboxSync
from shared.adapters.records import SubscriptionRecord
from shared.core.errors import GraphUnavailable
from shared.service import coalescing, feed, mailbox_rounds, notifications
from tests.service.conftest import TENANT, World, make_org, notify
from tests.service.test_links_and_rounds import drain_rounds, linked_worker, notification

DAY = "2026-12-08"


async def _watched(world: World) -> tuple[SubscriptionRecord, str]:
    await make_org(world)
    link = await linked_worker(world)
    await drain_rounds(world)  # the baseline round the link started
    record = await world.store.get(SubscriptionRecord, subscription_id=link.subscription_id or "")
    assert record is not None
    return record, link.m365_user_id or ""


def _outlook_event(world: World, mailbox: str, subject: str) -> dict[str, Any]:
    return world.graph.outlook_create(
        TENANT,
        mailbox,
        {
            "subject": subject,
            "start": {"dateTime": f"{DAY}T09:00:00", "timeZone": "UTC"},
            "end": {"dateTime": f"{DAY}T09:30:00", "timeZone": "UTC"},
        },
    )


async def _titles(world: World) -> list[str]:
    return [feed.change_view(c)["data"].get("title") for c in await feed.read(world.store, "o1", 0, 100)]


async def _two_notified(world: World) -> tuple[MailboxSync, MailboxSync]:
    """One Outlook change, two notifications of it, both messages taken 3 s later."""
    record, mailbox = await _watched(world)
    _outlook_event(world, mailbox, "Made in Outlook")
    await notify(world, notification(record))
    await notify(world, notification(record))
    world.clock.advance(seconds=3)
    [first, second] = world.queues.take(MailboxSync.QUEUE)
    assert isinstance(first, MailboxSync) and isinstance(second, MailboxSync)
    return first, second


async def test_an_acknowledgement_writes_nothing_and_hands_back_one_message_per_mailbox(world: World) -> None:
    record, _ = await _watched(world)
    [item] = json.loads(notification(record))["value"]
    twice = json.dumps({"value": [item, {**item, "resource": f"Users/{record.mailbox_id}/Events/e2"}]}).encode()
    writes, queued = world.store.writes, len(world.queues.sent)
    receipt = await notifications.receive(world.svc, twice, lifecycle=False)
    assert (receipt.accepted, receipt.ignored) == (2, 0)
    assert [(m.QUEUE, m.owner, m.reason) for m in receipt.work] == [(MailboxSync.QUEUE, "w-ada", "notification")]
    # Nothing stored, nothing sent: the function's output binding is written by the host.
    assert (world.store.writes, len(world.queues.sent)) == (writes, queued)


async def test_a_round_that_began_after_the_notifications_covers_them_all(world: World) -> None:
    record, mailbox = await _watched(world)
    for i in range(3):
        _outlook_event(world, mailbox, f"Made in Outlook {i}")
        await notify(world, notification(record))
    world.clock.advance(seconds=3)  # the first message's round begins later than the margin
    deltas = world.graph.count("delta")
    await drain_rounds(world)
    assert world.graph.count("delta") - deltas == 1  # one round read all three
    assert sorted(await _titles(world)) == [f"Made in Outlook {i}" for i in range(3)]


async def test_a_round_run_by_another_instance_covers_a_message_through_the_link(world: World) -> None:
    first, second = await _two_notified(world)
    await mailbox_rounds.run(world.svc, "o1", "worker", "w-ada", notified_at=first.at)
    coalescing._began.clear()  # the second message reaches an instance that ran no round
    deltas = world.graph.count("delta")
    result = await mailbox_rounds.run(world.svc, "o1", "worker", "w-ada", notified_at=second.at)
    assert result is not None and result.covered
    assert world.graph.count("delta") == deltas
    assert await _titles(world) == ["Made in Outlook"]  # reported once


async def test_a_notification_that_came_as_the_round_began_gets_a_round_of_its_own(world: World) -> None:
    """Within the clock margin arrival and beginning are not ordered: another round runs."""
    record, mailbox = await _watched(world)
    await notify(world, notification(record))
    world.clock.advance(seconds=1)
    _outlook_event(world, mailbox, "Just then")
    await notify(world, notification(record))
    deltas = world.graph.count("delta")
    await drain_rounds(world)
    assert world.graph.count("delta") - deltas == 2
    assert await _titles(world) == ["Just then"]


async def test_a_notification_while_the_round_reads_the_delta_gets_one_more_round(world: World) -> None:
    record, mailbox = await _watched(world)
    _outlook_event(world, mailbox, "First")
    await notify(world, notification(record))
    world.clock.advance(seconds=3)
    real_delta = world.graph.delta
    during: list[int] = []

    async def delta_then_an_outlook_change(*args: Any, **kwargs: Any) -> Any:
        answer = await real_delta(*args, **kwargs)  # this round's read is done: it cannot see what follows
        if not during:
            _outlook_event(world, mailbox, "Second")
            during.append((await notify(world, notification(record))).messages)
        return answer

    world.graph.delta = delta_then_an_outlook_change  # type: ignore[method-assign]
    assert await drain_rounds(world) == 2  # the first message's round, and the late notification's
    assert during == [1]
    assert sorted(await _titles(world)) == ["First", "Second"]


async def test_a_round_that_failed_covers_nothing(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = await _two_notified(world)
    real_delta = world.graph.delta

    async def unavailable(*args: Any, **kwargs: Any) -> Any:
        raise GraphUnavailable("Graph answered 503")

    monkeypatch.setattr(world.graph, "delta", unavailable)
    with pytest.raises(GraphUnavailable):
        await mailbox_rounds.run(world.svc, "o1", "worker", "w-ada", notified_at=first.at)
    monkeypatch.setattr(world.graph, "delta", real_delta)
    result = await mailbox_rounds.run(world.svc, "o1", "worker", "w-ada", notified_at=second.at)
    assert result is not None and not result.covered
    assert await _titles(world) == ["Made in Outlook"]


async def test_a_message_marked_by_an_older_acknowledgement_still_clears_its_mark(world: World) -> None:
    """During a rollout an instance of the old code still writes marks and holds
    notifications back while one is fresh: the marked message's round must remove it."""
    await _watched(world)
    key = {"org": "o1", "owner_kind": "worker", "owner_id": "w-ada", "kind": "queued"}
    await world.store.insert(QueuedRound(**key, queued_at=world.clock.now()))
    await mailbox_rounds.run(world.svc, "o1", "worker", "w-ada", notified_at=world.clock.now(), marked=True)
    assert await world.store.get(QueuedRound, **key) is None


async def test_a_covered_message_marked_by_an_older_acknowledgement_still_clears_its_mark(world: World) -> None:
    await _watched(world)
    notified = world.clock.now()
    world.clock.advance(seconds=3)
    await mailbox_rounds.run(world.svc, "o1", "worker", "w-ada")  # a round that began after it
    key = {"org": "o1", "owner_kind": "worker", "owner_id": "w-ada", "kind": "queued"}
    await world.store.insert(QueuedRound(**key, queued_at=notified))
    result = await mailbox_rounds.run(world.svc, "o1", "worker", "w-ada", notified_at=notified, marked=True)
    assert result is not None and result.covered
    assert await world.store.get(QueuedRound, **key) is None
