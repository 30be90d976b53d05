"""The feed and the product webhook, as use cases over the fakes."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from datetime import timedelta

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from shared.adapters.inbound_records import DeltaState, FeedCounter, WebhookCursor
from shared.adapters.messages import WebhookDelivery
from shared.adapters.records import Org
from shared.core.changes import NewChange, encode_cursor
from shared.core.errors import ConcurrencyConflict, InvalidInput
from shared.service import feed, webhooks
from shared.service.orgs import update_settings
from tests.service.conftest import World, make_org

SECRET = "whsec_Y2Fsc3luYy1zZXJ2aWNlLXRlc3RzLXNlY3JldC0wMDAx"
HOOK = {"webhookUrl": "https://booking.example/hook", "webhookSecret": SECRET}


async def test_two_rounds_of_one_org_committing_at_once_both_land_in_order_without_a_retry(world: World) -> None:
    """Another instance's round of the org takes the counter between this round's read and
    write: this round's changes go in after that round's, its own delta row as it read it."""
    await make_org(world)
    mine = DeltaState(org="o1", mailbox="m1", delta_link="https://graph/delta?token=mine")
    theirs = DeltaState(org="o1", mailbox="m2", delta_link="https://graph/delta?token=theirs")
    real_submit = world.store.submit
    interleaved: list[list[int]] = []

    def other_instance() -> list[int]:  # its own process: its own event loop and locks
        return asyncio.run(feed.commit(world.store, "o1", [NewChange("created", "b", event_id="e2")], theirs))

    async def the_other_round_first(ops):  # type: ignore[no-untyped-def]
        if not interleaved:
            world.store.submit = real_submit  # type: ignore[method-assign]
            interleaved.append(await asyncio.to_thread(other_instance))
        return await real_submit(ops)

    world.store.submit = the_other_round_first  # type: ignore[method-assign]
    numbers = await feed.commit(world.store, "o1", [NewChange("created", "a", event_id="e1")], mine)
    assert (interleaved, numbers) == ([[1]], [2])
    assert [(r.seq, r.appointment) for r in await feed.read(world.store, "o1", 0, 10)] == [
        ("0000000000000001", "b"),
        ("0000000000000002", "a"),
    ]
    stored = await world.store.get(DeltaState, org="o1", kind="delta", mailbox="m1")
    assert stored is not None and stored.delta_link == "https://graph/delta?token=mine"


async def test_a_round_whose_own_delta_row_changed_still_loses_and_writes_nothing(world: World) -> None:
    await make_org(world)
    state = DeltaState(org="o1", mailbox="m1", delta_link="https://graph/delta?token=1")
    await feed.commit(world.store, "o1", [], state)  # the row exists
    stale = dataclasses.replace(state, delta_link="https://graph/delta?token=stale")
    state.delta_link = "https://graph/delta?token=2"
    await feed.commit(world.store, "o1", [], state)  # the same mailbox's round elsewhere
    with pytest.raises(ConcurrencyConflict):
        await feed.commit(world.store, "o1", [NewChange("created", "a", event_id="e1")], stale)
    assert await feed.read(world.store, "o1", 0, 10) == []


async def test_a_commit_of_250_changes_numbers_them_in_order_and_saves_the_delta_position(world: World) -> None:
    await make_org(world)
    changes = [NewChange("created", f"a{i}", worker="w", event_id=f"e{i}") for i in range(250)]
    delta = DeltaState(org="o1", mailbox="m1", delta_link="https://graph/delta?token=2")
    assert await feed.commit(world.store, "o1", changes, delta) == list(range(1, 251))
    rows = await feed.read(world.store, "o1", 0, 500)
    assert [r.appointment for r in rows] == [f"a{i}" for i in range(250)]
    assert [int(r.seq) for r in rows] == list(range(1, 251))
    assert [int(r.seq) for r in await feed.read(world.store, "o1", 240, 500)] == list(range(241, 251))
    stored = await world.store.get(DeltaState, org="o1", kind="delta", mailbox="m1")
    assert stored is not None and stored.delta_link.endswith("token=2")


async def test_the_latest_changes_are_read_from_the_end_even_across_unused_numbers(world: World) -> None:
    await make_org(world)
    assert await feed.latest(world.store, "o1", 10) == []
    await feed.commit(world.store, "o1", [NewChange("created", f"a{i}", worker="w") for i in range(30)], None)
    assert [int(r.seq) for r in await feed.latest(world.store, "o1", 5)] == [26, 27, 28, 29, 30]
    assert [int(r.seq) for r in await feed.latest(world.store, "o1", 100)] == list(range(1, 31))
    # A round that took numbers 31-60 and failed before writing its changes: a gap.
    counter = await world.store.get(FeedCounter, org="o1", kind="seq")
    assert counter is not None
    counter.value = 60
    await world.store.update(counter)
    await feed.commit(world.store, "o1", [NewChange("updated", "a0", worker="w")], None)
    assert [int(r.seq) for r in await feed.latest(world.store, "o1", 4)] == [28, 29, 30, 61]


async def test_a_failing_receiver_keeps_one_retry_chain_however_many_rounds_have_changes(world: World) -> None:
    org = await make_org(world, **HOOK)
    world.webhooks.failing = "HTTP 500"
    await feed.commit(world.store, "o1", [NewChange("updated", "a1", worker="w")], None)
    assert await webhooks.nudge(world.svc, org)
    [first] = world.queues.take(WebhookDelivery.QUEUE)
    await webhooks.deliver(world.svc, first.org, first.attempt)
    assert len(world.webhooks.posts) == 1  # it was tried, and failed
    for round_number in range(5):  # five more rounds commit changes while the retry waits
        await feed.commit(world.store, "o1", [NewChange("updated", f"b{round_number}", worker="w")], None)
        assert not await webhooks.nudge(world.svc, org)
    waiting = world.queues.waiting(WebhookDelivery.QUEUE)
    assert len(waiting) == 1 and waiting[0].message() == WebhookDelivery("o1", 1)
    cursor = await world.store.get(WebhookCursor, org="o1", kind="webhook")
    assert cursor is not None and cursor.failures == 1
    assert cursor.retry_at == waiting[0].visible_at == world.clock.now() + timedelta(seconds=2)

    # The receiver recovers: the one retry sends the batch that failed again, then what came
    # after it, in order, and the chain ends.
    world.webhooks.failing = None
    world.clock.advance(seconds=4)
    [retry] = world.queues.take(WebhookDelivery.QUEUE)
    await webhooks.deliver(world.svc, retry.org, retry.attempt)
    batches = [[c["appointment"] for c in json.loads(body)["changes"]] for _url, body, _headers in world.webhooks.posts]
    assert batches == [["a1"], ["a1"], ["b0", "b1", "b2", "b3", "b4"]]
    assert world.queues.waiting(WebhookDelivery.QUEUE) == []
    cursor = await world.store.get(WebhookCursor, org="o1", kind="webhook")
    assert cursor.retry_at is None and cursor.delivered == 6
    await feed.commit(world.store, "o1", [NewChange("updated", "c", worker="w")], None)
    assert await webhooks.nudge(world.svc, org)  # no chain now: a new change starts a delivery


async def test_two_rounds_nudging_before_the_first_delivery_fails_still_make_one_chain(world: World) -> None:
    # Found by make test on a loaded machine (tests/integration/test_inbound.py, one delivery
    # chain): both nudges ran before the first attempt failed and scheduled its retry, so
    # each message tried, failed and scheduled a retry of its own: two chains.
    org = await make_org(world, **HOOK)
    world.webhooks.failing = "HTTP 500"
    await feed.commit(world.store, "o1", [NewChange("updated", "a1", worker="w")], None)
    assert await webhooks.nudge(world.svc, org)
    await feed.commit(world.store, "o1", [NewChange("updated", "a2", worker="w")], None)
    assert await webhooks.nudge(world.svc, org)  # no retry scheduled yet: it sends too
    first, second = world.queues.take(WebhookDelivery.QUEUE)
    await webhooks.deliver(world.svc, first.org, first.attempt)  # tried, failed, retry scheduled
    result = await webhooks.deliver(world.svc, second.org, second.attempt)
    assert result.get("coalesced") and len(world.webhooks.posts) == 1  # the chain carries it
    waiting = world.queues.waiting(WebhookDelivery.QUEUE)
    assert [w.message() for w in waiting] == [WebhookDelivery("o1", 1)]


async def test_a_retry_resends_exactly_the_batch_that_failed_and_later_batches_follow(world: World) -> None:
    org = await make_org(world, **HOOK)
    world.webhooks.failing = "HTTP 503"
    await feed.commit(world.store, "o1", [NewChange("updated", f"a{i}", worker="w") for i in range(3)], None)
    await webhooks.nudge(world.svc, org)
    [first] = world.queues.take(WebhookDelivery.QUEUE)
    await webhooks.deliver(world.svc, first.org, first.attempt)
    cursor = await world.store.get(WebhookCursor, org="o1", kind="webhook")
    assert cursor is not None and (cursor.delivered, cursor.in_flight) == (0, 3)
    # More changes arrive, then two more retries fail and one succeeds: every attempt at the
    # failed batch is the same batch, webhook-id and body, nothing of what came later.
    await feed.commit(world.store, "o1", [NewChange("updated", f"b{i}", worker="w") for i in range(150)], None)
    for attempt, answer in ((1, "HTTP 500"), (2, "ConnectTimeout"), (3, None)):
        world.webhooks.failing = answer
        world.clock.advance(hours=1)
        [retry] = world.queues.take(WebhookDelivery.QUEUE)
        assert retry.attempt == attempt
        await webhooks.deliver(world.svc, retry.org, retry.attempt)
    tries, rest = world.webhooks.posts[:4], world.webhooks.posts[4:]
    assert {body for _url, body, _headers in tries} == {tries[0][1]}
    assert {headers["webhook-id"] for _url, _body, headers in tries} == {encode_cursor(3)}
    assert [c["appointment"] for c in json.loads(tries[0][1])["changes"]] == ["a0", "a1", "a2"]
    for _url, body, headers in world.webhooks.posts:
        assert Webhook(SECRET).verify(body, headers)["changes"][-1]["cursor"] == headers["webhook-id"]
    # Once it is acknowledged, later batches carry on normally: full batches after it.
    assert [len(json.loads(body)["changes"]) for _url, body, _headers in rest] == [100, 50]
    assert [headers["webhook-id"] for _url, _body, headers in rest] == [encode_cursor(103), encode_cursor(153)]
    cursor = await world.store.get(WebhookCursor, org="o1", kind="webhook")
    assert (cursor.delivered, cursor.in_flight, cursor.retry_at, cursor.failures) == (153, None, None, 0)


async def test_a_webhook_post_is_signed_per_standard_webhooks(world: World) -> None:
    org = await make_org(world, **HOOK)
    await feed.commit(world.store, "o1", [NewChange("created", "a1", worker="w")], None)
    await webhooks.nudge(world.svc, org)
    [message] = world.queues.take(WebhookDelivery.QUEUE)
    await webhooks.deliver(world.svc, message.org, message.attempt)
    [(_url, body, headers)] = world.webhooks.posts
    assert headers["webhook-id"] == encode_cursor(1) and headers["webhook-signature"].startswith("v1,")
    assert Webhook(SECRET).verify(body, headers)["changes"][0]["appointment"] == "a1"
    other = "whsec_Y2Fsc3luYy1zb21lLW90aGVyLXNlY3JldC0wMDAwMDAx"
    tampered = body.replace(b'"a1"', b'"a2"')
    for secret, data, sent in (
        (other, body, headers),
        (SECRET, tampered, headers),
        (SECRET, body, {**headers, "webhook-id": encode_cursor(2)}),
    ):
        with pytest.raises(WebhookVerificationError):
            Webhook(secret).verify(data, sent)


async def test_a_stored_secret_of_the_old_kind_holds_deliveries_until_a_new_one_is_set(world: World) -> None:
    org = await make_org(world, **HOOK)
    org.settings = {**org.settings, "webhookSecret": "0123456789abcdef0123"}  # set before whsec_ was required
    org = await world.store.update(org)
    await feed.commit(world.store, "o1", [NewChange("created", "a1", worker="w")], None)
    await webhooks.nudge(world.svc, org)
    [message] = world.queues.take(WebhookDelivery.QUEUE)
    assert (await webhooks.deliver(world.svc, message.org, message.attempt))["error"] == webhooks.BAD_SECRET
    assert world.webhooks.posts == []  # nothing sent unsigned or signed with a made-up key
    cursor = await world.store.get(WebhookCursor, org="o1", kind="webhook")
    assert cursor.last_error == webhooks.BAD_SECRET and cursor.delivered == 0
    await update_settings(world.svc, "o1", {"webhookSecret": SECRET})
    world.clock.advance(seconds=3)
    [retry] = world.queues.take(WebhookDelivery.QUEUE)
    await webhooks.deliver(world.svc, retry.org, retry.attempt)
    [(_url, body, headers)] = world.webhooks.posts
    assert Webhook(SECRET).verify(body, headers)["changes"][0]["appointment"] == "a1"


async def test_backoff_doubles_up_to_an_hour(world: World) -> None:
    assert [webhooks.backoff_s(n) for n in (0, 1, 2, 5, 20)] == [2, 4, 8, 64, 3600]


async def test_a_lost_retry_message_does_not_silence_the_webhook_forever(world: World) -> None:
    org = await make_org(world, **HOOK)
    world.webhooks.failing = "ConnectTimeout"
    await feed.commit(world.store, "o1", [NewChange("updated", "a1", worker="w")], None)
    await webhooks.nudge(world.svc, org)
    [first] = world.queues.take(WebhookDelivery.QUEUE)
    await webhooks.deliver(world.svc, first.org, first.attempt)
    world.queues.sent.clear()  # the retry message is lost
    world.clock.advance(minutes=10)  # long past its time and the grace
    await feed.commit(world.store, "o1", [NewChange("updated", "a2", worker="w")], None)
    assert await webhooks.nudge(world.svc, org)


async def test_a_webhook_set_later_starts_from_the_beginning_of_the_feed(world: World) -> None:
    from shared.service.orgs import update_settings

    await make_org(world)
    await feed.commit(world.store, "o1", [NewChange("created", f"early{i}", worker="w") for i in range(3)], None)
    org = await update_settings(world.svc, "o1", HOOK)
    await feed.commit(world.store, "o1", [NewChange("updated", "late", worker="w")], None)
    assert await webhooks.nudge(world.svc, org)
    [message] = world.queues.take(WebhookDelivery.QUEUE)
    await webhooks.deliver(world.svc, message.org, message.attempt)
    [(_url, body, _headers)] = world.webhooks.posts
    assert [c["appointment"] for c in json.loads(body)["changes"]] == ["early0", "early1", "early2", "late"]


@pytest.mark.parametrize(
    ("url", "development", "ok"),
    [
        ("https://booking.example/hook", False, True),
        ("http://127.0.0.1:8080/hook", True, True),  # a receiver on this machine, against the emulator
        ("http://127.0.0.1:8080/hook", False, False),  # never in production
        ("http://localhost/hook", False, False),
        ("http://booking.example/hook", True, False),  # plain http elsewhere: never
        ("ftp://booking.example/hook", True, False),
    ],
)
async def test_a_webhook_url_is_https_except_loopback_in_development(
    world: World, url: str, development: bool, ok: bool
) -> None:
    await make_org(world)
    mode = "emulator" if development else "client_secret"
    world.svc = dataclasses.replace(world.svc, settings=dataclasses.replace(world.svc.settings, graph_auth_mode=mode))
    body = {"webhookUrl": url, "webhookSecret": SECRET}
    if ok:
        assert (await update_settings(world.svc, "o1", body)).config.webhook_url == url
        return
    before = await world.store.get(Org, org="o1")
    with pytest.raises(InvalidInput) as refused:
        await update_settings(world.svc, "o1", body)
    assert refused.value.details["field"] == "webhookUrl" and "https" in refused.value.message
    assert await world.store.get(Org, org="o1") == before  # nothing written
