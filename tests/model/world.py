"""The system the model drives, in one process: calsync's use cases over FakeStore and
FakeQueues, the real Graph gateway (msgraph-sdk) talking to the Graph emulator through
EmulatorTransport, the emulator's notifications landing on calsync's notifications use
case, the booking product's webhook receiver, and people using Outlook (Graph calls of
their own to the emulator, as another app)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import azure.functions as func
from multidict import CIMultiDict

from devtools.graph_emulator.app import Emulator
from devtools.graph_emulator.calendar.models import Event
from devtools.graph_emulator.core.wire import Call, Reply
from devtools.host.invoke import Out
from functions import graph_webhooks
from shared.adapters.graph import GraphGateway
from shared.adapters.messages import MailboxSync, SubscriptionLifecycle
from shared.adapters.settings import load
from shared.service import coalescing, notifications
from shared.service.ports import Services
from tests.fakes.queues import FakeQueues
from tests.fakes.store import FakeStore
from tests.model.host import Host
from tests.model.wire import GRAPH_BASE, PUBLIC_BASE, Clock, EmulatorTransport, InProcessNotifier

TENANT = "6e0f5a1c-3b7d-4c2a-9f11-c0a7050c0de1"
DOMAIN = "contoso.test"
OUTLOOK_APP = "00000002-0000-0ff1-ce00-000000000000"  # people's Outlook: another app than calsync
PEOPLE = {"w1": "Ada Worker", "w2": "Bob Worker", "w3": "Cyd Worker", "s1": "Sam Spare", "x1": "Xavier Outsider"}
ROOMS = {"r1": "Room One", "r2": "Room Two"}
WEBHOOK_URL = "https://booking.example/hooks/calsync"
WEBHOOK_SECRET = "whsec_Y2Fsc3luYy1tb2RlbC10ZXN0cy1zZWNyZXQtMDAwMDAx"


def user_id(name: str) -> str:
    return str(uuid.UUID(int=(0xC0DE << 64) + sum(ord(c) << (8 * i) for i, c in enumerate(name))))


def address(name: str) -> str:
    return f"{name}@{DOMAIN}"


@dataclass
class Receiver:
    """The booking product's webhook endpoint: fails `fail_next` posts, keeps every post."""

    fail_next: int = 0
    posts: list[tuple[bytes, dict[str, str]]] = field(default_factory=list)
    read: int = 0  # posts the booking product has taken
    bodies: dict[str, bytes] = field(default_factory=dict)  # webhook-id → the body every post of it had

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> str | None:
        # Every attempt, refused or not: one webhook-id is always one body (what a receiver
        # that de-duplicates on webhook-id relies on).
        if self.bodies.setdefault(headers["webhook-id"], body) != body:
            raise AssertionError(f"webhook-id {headers['webhook-id']} came with two different bodies")
        if self.fail_next > 0:
            self.fail_next -= 1
            return "HTTP 503 from the receiver (injected)"
        self.posts.append((body, headers))
        return None

    def take(self) -> list[tuple[bytes, dict[str, str]]]:
        new = self.posts[self.read :]
        self.read = len(self.posts)
        return new

    async def close(self) -> None:
        return None


class System:
    def __init__(self, seed: int = 0) -> None:
        # A fresh process as far as per-process caches go: the emulator's ids repeat from one
        # System to the next (virtual_time seeds them), so a cached subscription would too.
        notifications._cache.clear()
        coalescing._began.clear()
        self.clock = Clock()
        self.emulator = Emulator()
        self.transport = EmulatorTransport(self.emulator)
        settings = load(
            {
                "AzureWebJobsStorage": "UseDevelopmentStorage=true",
                "GRAPH_AUTH_MODE": "emulator",
                "GRAPH_BASE_URL": GRAPH_BASE,
                "CALSYNC_PUBLIC_BASE_URL": PUBLIC_BASE,
            }
        )
        self.store = FakeStore()
        self.queues = FakeQueues(now=self.clock.now)
        self.receiver = Receiver()
        self.graph = GraphGateway(settings, http_transport=self.transport)
        self.svc = Services(
            settings=settings,
            store=self.store,
            queues=self.queues,
            graph=self.graph,
            webhooks=self.receiver,
            clock=self.clock,
        )
        self.notifier = InProcessNotifier(self.emulator.world, self._handshake)
        self.emulator.notifier = self.notifier
        self.emulator.world.faults.throttle_requests = 10**9  # 429s only where a rule injects them
        self.host = Host(self.svc, self.queues, self.clock)
        self.drop_notifications = 0  # the next N notification POSTs are lost
        self.notifications_dropped = 0
        self.users = self._seed()

    def _seed(self) -> dict[str, str]:
        users: list[dict[str, Any]] = [
            {"id": user_id(n), "userPrincipalName": address(n), "displayName": d} for n, d in PEOPLE.items()
        ]
        users += [
            {"id": user_id(n), "userPrincipalName": address(n), "displayName": d, "userPurpose": "room"}
            for n, d in ROOMS.items()
        ]
        self.emulator.world.seed({"tenants": [{"id": TENANT, "domain": DOMAIN, "users": users}]})
        return {n: user_id(n) for n in [*PEOPLE, *ROOMS]}

    async def close(self) -> None:
        await self.graph.close()

    # -- Graph calls back into calsync -----------------------------------------------------
    async def _handshake(self, url: str, token: str) -> func.HttpResponse:
        assert url.startswith(f"{PUBLIC_BASE}/api/graph/"), url
        req = func.HttpRequest("POST", url, params={"validationToken": token}, body=b"")
        return await self._webhook(req, url)

    async def _webhook(self, req: func.HttpRequest, url: str) -> func.HttpResponse:
        """The function as the host runs it: its queue output bindings written once it returns."""
        outputs = {queue: Out() for queue in (MailboxSync.QUEUE, SubscriptionLifecycle.QUEUE)}
        answer = await graph_webhooks._receive(req, self.svc, outputs, lifecycle=url.endswith("/lifecycle"))
        for queue, out in outputs.items():
            self.queues.write_output(queue, out.get() or [])
        return answer

    async def deliver_notifications(self) -> int:
        """Graph's POSTs of what changed since the last call (the lost ones are dropped)."""
        posts = self.notifier.take()
        for url, body in posts:
            if self.drop_notifications > 0:
                self.drop_notifications -= 1
                self.notifications_dropped += 1
                continue
            assert url.startswith(f"{PUBLIC_BASE}/api/graph/"), url
            req = func.HttpRequest("POST", url, body=json.dumps(body).encode())
            answer = await self._webhook(req, url)
            assert answer.status_code == 202, answer.get_body()
        return len(posts)

    # -- people using Outlook ---------------------------------------------------------------
    async def outlook(self, method: str, mailbox: str, tail: str = "", body: dict[str, Any] | None = None) -> Reply:
        """A user's own client: a Graph request as another app, never hit by injected faults."""
        faults = self.emulator.world.faults
        armed, faults.fail_next = faults.fail_next, []
        try:
            call = Call(
                method=method,
                path=f"/users/{mailbox}/events{tail}",
                query={},
                headers=CIMultiDict({"Prefer": 'outlook.timezone="UTC", IdType="ImmutableId"'}),
                body=json.dumps(body).encode() if body is not None else b"",
                tenant=self.emulator.world.tenants[TENANT],
                app_id=OUTLOOK_APP,
                base=GRAPH_BASE,
            )
            reply = await self.emulator.handle(call)
        finally:
            faults.fail_next = armed + faults.fail_next
        assert reply.status < 400, (method, tail, reply.body)
        return reply

    def events(self, mailbox: str) -> list[Event]:
        return sorted(self.emulator.world.mailbox(mailbox).values(), key=lambda e: (e.start, e.immutable_id))

    def event(self, event_id: str) -> Event | None:
        return self.emulator.world.by_any_id.get(event_id)
