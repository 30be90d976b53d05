"""QueuesContract: what the use cases rely on the queues for — a sent message is durable,
comes back to its queue's worker as the same typed message, a delay hides it, an oversize
message is refused — run against QueueSender on Azurite and against FakeQueues."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.queue.aio import QueueClient

from devtools.services import Service, start_azurite
from shared.adapters.messages import MESSAGES, MailboxSync, PushChunk, QueueMessage, RenewSubscription, WebhookDelivery
from shared.adapters.queues import QueueSender
from shared.adapters.settings import load
from shared.service.ports import Queues
from tests.conftest import app_env
from tests.fakes.queues import FakeQueues

_BY_QUEUE = {m.QUEUE: m for m in MESSAGES}


@dataclass
class Bench:
    queues: Queues
    receive: Callable[[str], object]  # queue → awaitable list of typed messages visible now


@pytest.fixture(scope="module")
def own_azurite() -> Iterator[Service]:
    """Azurite of this module's own: the session's is shared with the app host, whose queue
    workers would take these messages first."""
    service = start_azurite()
    yield service
    service.stop()


@pytest.fixture(params=["QueueSender", "FakeQueues"])
async def bench(request: pytest.FixtureRequest) -> AsyncIterator[Bench]:
    if request.param == "FakeQueues":
        fake = FakeQueues()

        async def take(queue: str) -> list[QueueMessage]:
            return fake.take(queue)

        yield Bench(fake, take)
        return
    conn = request.getfixturevalue("own_azurite").env["AzureWebJobsStorage"]
    sender = QueueSender(load(app_env(conn)).storage)

    # The worker side, as the Functions host reads it: Base64 text, JSON inside.
    async def receive(queue: str) -> list[QueueMessage]:
        async with QueueClient.from_connection_string(conn, queue) as client:
            out = []
            try:
                async for message in client.receive_messages(max_messages=32, visibility_timeout=30):
                    out.append(_BY_QUEUE[queue].from_wire(json.loads(base64.b64decode(message.content))))
                    await client.delete_message(message)
            except ResourceNotFoundError:
                pass  # nothing was ever sent to it
            return out

    for message_type in MESSAGES:  # start each test from empty queues
        await receive(message_type.QUEUE)
    yield Bench(sender, receive)
    await sender.close()


async def test_a_sent_message_comes_back_as_the_same_typed_message(bench: Bench) -> None:
    at = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    org = f"o-{uuid.uuid4().hex[:6]}"
    sent = [
        MailboxSync(org, "resource", "r-1", reason="notification", at=at),
        MailboxSync(org, "worker", "w-1"),
    ]
    for message in sent:
        await bench.queues.send(message)
    await bench.queues.send(RenewSubscription("sub-1"))
    await bench.queues.send(PushChunk(org, "job-1", "00001", ["a1", "a2"]))
    got = await bench.receive(MailboxSync.QUEUE)
    assert sorted(got, key=lambda m: m.owner) == sorted(sent, key=lambda m: m.owner)
    assert await bench.receive(RenewSubscription.QUEUE) == [RenewSubscription("sub-1")]
    assert await bench.receive(PushChunk.QUEUE) == [PushChunk(org, "job-1", "00001", ["a1", "a2"])]


async def test_a_delayed_message_is_hidden_until_its_time(bench: Bench) -> None:
    await bench.queues.send(WebhookDelivery("o-delay", 3), delay_seconds=60)
    await bench.queues.send(WebhookDelivery("o-now", 0))
    assert await bench.receive(WebhookDelivery.QUEUE) == [WebhookDelivery("o-now", 0)]


async def test_an_oversize_message_is_refused_and_nothing_is_sent(bench: Bench) -> None:
    with pytest.raises(ValueError):
        await bench.queues.send(PushChunk("o", "j", "00000", ["x" * 1000] * 60))
    assert await bench.receive(PushChunk.QUEUE) == []
