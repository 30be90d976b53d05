"""Notifications coalesce: one queued round per mailbox until that round starts reading."""

from __future__ import annotations

from typing import Any

import pytest

from shared.adapters.inbound_records import QueuedRound
from shared.adapters.messages import MailboxSync
from shared.adapters.records import SubscriptionRecord
from shared.core.errors import GraphUnavailable
from shared.service import feed, notifications
from tests.service.conftest import TENANT, World, make_org
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


async def test_notifications_for_a_mailbox_with_a_round_queued_send_no_more_messages(world: World) -> None:
    record, mailbox = await _watched(world)
    for i in range(3):
        _outlook_event(world, mailbox, f"Made in Outlook {i}")
        receipt = await notifications.receive(world.svc, notification(record), lifecycle=False)
        assert receipt.accepted == 1
    assert [m.owner for m in world.queues.take(MailboxSync.QUEUE, visible_only=False)] == ["w-ada"]


async def test_a_mark_written_by_another_instance_also_holds_notifications_back(world: World) -> None:
    from shared.service import round_marks

    record, _ = await _watched(world)
    await notifications.receive(world.svc, notification(record), lifecycle=False)
    round_marks._marked_here.clear()  # the next notification reaches an instance that never saw it
    receipt = await notifications.receive(world.svc, notification(record), lifecycle=False)
    assert (receipt.accepted, receipt.messages) == (1, 0)
    assert len(world.queues.take(MailboxSync.QUEUE, visible_only=False)) == 1


async def test_the_one_round_reports_every_change_the_coalesced_notifications_were_about(world: World) -> None:
    record, mailbox = await _watched(world)
    for i in range(3):
        _outlook_event(world, mailbox, f"Made in Outlook {i}")
        await notifications.receive(world.svc, notification(record), lifecycle=False)
    assert await drain_rounds(world) == 1
    assert sorted(await _titles(world)) == [f"Made in Outlook {i}" for i in range(3)]


async def test_a_notification_while_the_round_reads_the_delta_queues_one_more_round(world: World) -> None:
    record, mailbox = await _watched(world)
    _outlook_event(world, mailbox, "First")
    await notifications.receive(world.svc, notification(record), lifecycle=False)
    real_delta = world.graph.delta
    during: list[int] = []

    async def delta_then_an_outlook_change(*args: Any, **kwargs: Any) -> Any:
        answer = await real_delta(*args, **kwargs)  # this round's read is done: it cannot see what follows
        if not during:
            _outlook_event(world, mailbox, "Second")
            during.append((await notifications.receive(world.svc, notification(record), lifecycle=False)).messages)
        return answer

    world.graph.delta = delta_then_an_outlook_change  # type: ignore[method-assign]
    assert await drain_rounds(world) == 2  # the first message's round, and the one the late notification sent
    assert during == [1]
    assert sorted(await _titles(world)) == ["First", "Second"]


async def test_a_failed_send_leaves_no_mark_that_would_hold_later_notifications_back(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    record, _ = await _watched(world)
    real_send = world.queues.send

    async def unavailable(*args: Any, **kwargs: Any) -> None:
        raise GraphUnavailable("queue down")  # any failure: the notification is answered 5xx

    monkeypatch.setattr(world.queues, "send", unavailable)
    with pytest.raises(GraphUnavailable):
        await notifications.receive(world.svc, notification(record), lifecycle=False)
    assert await world.store.get(QueuedRound, org="o1", owner_kind="worker", owner_id="w-ada", kind="queued") is None
    monkeypatch.setattr(world.queues, "send", real_send)
    receipt = await notifications.receive(world.svc, notification(record), lifecycle=False)  # Graph's retry
    assert receipt.messages == 1


async def test_a_mark_whose_message_never_ran_stops_holding_notifications_back(world: World) -> None:
    record, _ = await _watched(world)
    await notifications.receive(world.svc, notification(record), lifecycle=False)
    world.queues.take(MailboxSync.QUEUE)  # that message is lost (never runs, never clears its mark)
    world.clock.advance(minutes=4)
    assert (await notifications.receive(world.svc, notification(record), lifecycle=False)).messages == 0
    world.clock.advance(minutes=2)
    assert (await notifications.receive(world.svc, notification(record), lifecycle=False)).messages == 1
