"""Use cases with the in-memory fakes: no servers, milliseconds per test."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.adapters.records import MailboxLink, Org
from shared.adapters.settings import load
from shared.service import people
from shared.service.ports import Services
from tests.fakes.graph import FakeGraph
from tests.fakes.queues import FakeQueues
from tests.fakes.store import FakeStore

TENANT = "6e0f5a1c-3b7d-4c2a-9f11-c0a7050c0de1"


@dataclass
class Clock:
    at: datetime = field(default_factory=lambda: datetime(2026, 12, 1, 9, 0, tzinfo=UTC))

    def now(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)


@dataclass
class FakeWebhooks:
    """The booking product's receiver: answers with `failing` errors until told otherwise."""

    failing: str | None = None
    posts: list[tuple[str, bytes, dict[str, str]]] = field(default_factory=list)

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> str | None:
        self.posts.append((url, body, headers))
        return self.failing

    async def close(self) -> None:
        return None


@dataclass
class World:
    svc: Services
    store: FakeStore
    queues: FakeQueues
    graph: FakeGraph
    webhooks: FakeWebhooks
    clock: Clock


@pytest.fixture
def world() -> World:
    return new_world()


@pytest.fixture(autouse=True)
def _fresh_process_caches() -> None:
    """Each test is a fresh process as far as per-process caches go (subscription ids of the
    seeded FakeGraph repeat from test to test)."""
    from shared.service import coalescing, notifications

    notifications._cache.clear()
    coalescing._began.clear()


PLATFORM_KEY = "test-platform-key"  # the app's function key in the use-case tests


def new_world() -> World:
    clock = Clock()
    settings = load(
        {
            "AzureWebJobsStorage": "UseDevelopmentStorage=true",
            "GRAPH_AUTH_MODE": "emulator",
            "GRAPH_BASE_URL": "http://127.0.0.1:9/v1.0",
            "CALSYNC_PUBLIC_BASE_URL": "http://127.0.0.1:7071",
            "CALSYNC_FUNCTION_KEY": PLATFORM_KEY,
        }
    )
    store, queues, graph, webhooks = FakeStore(), FakeQueues(now=clock.now), FakeGraph(), FakeWebhooks()
    svc = Services(settings=settings, store=store, queues=queues, graph=graph, webhooks=webhooks, clock=clock)
    return World(svc, store, queues, graph, webhooks, clock)


async def make_org(world: World, org: str = "o1", **settings: object) -> Org:
    record = Org(org=org, m365_tenant_id=TENANT, status="connected", addresses_indexed=True)  # as orgs.connect
    record.settings = record.config.merged(dict(settings)).to_stored()
    return await world.store.insert(record)


async def store_link(world: World, link: MailboxLink) -> MailboxLink:
    """A link written straight to the store (no Graph calls), with its address index row, as
    linking.apply_account writes them (shared.service.people)."""
    await people.index(world.svc, link)
    return await world.store.insert(link)


async def notify(world: World, body: bytes, *, lifecycle: bool = False) -> Any:
    """Graph's POST as its function handles it: the receipt's messages are then in their
    queues, as the Functions host writes the output bindings once the function returns."""
    from shared.service import notifications

    receipt = await notifications.receive(world.svc, body, lifecycle=lifecycle)
    for message in receipt.work:
        await world.queues.send(message)
    return receipt
