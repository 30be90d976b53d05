"""The Graph emulator wired into calsync in one process, without sockets.

- `EmulatorTransport`: an httpx transport under msgraph-sdk's middleware (retry, redirects,
  telemetry) that turns each request into the emulator's `Call` and its `Reply` into the
  response, as devtools/graph_emulator/server.py does over HTTP. It can lose an answer
  after the emulator applied the request (a read timeout, as httpx raises it).
- `InProcessNotifier`: the emulator's notifier, with the validation handshake answered by
  calsync's own handler (functions/graph_webhooks.py) and notifications kept in an outbox
  the test delivers to calsync's notifications use case when it lets them land.
- `virtual_time`: one clock for calsync, the emulator and the SDK's retry waits.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import re
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import azure.functions as func
import httpx
from multidict import CIMultiDict

from devtools.graph_emulator.app import Emulator, _pattern_name
from devtools.graph_emulator.core import ids as emu_ids
from devtools.graph_emulator.core.ids import DEFAULT_APP_ID
from devtools.graph_emulator.core.wire import JSON_TYPE, Call, Reply, error_body
from devtools.graph_emulator.subscriptions.notify import Notifier, ValidationFailed

GRAPH_BASE = "http://127.0.0.1:9/v1.0"  # never dialled: EmulatorTransport answers
PUBLIC_BASE = "http://127.0.0.1:7071"
_TOKEN = re.compile(r"Bearer emulator:([0-9a-fA-F-]{36})(?::([0-9a-fA-F-]{36}))?")


@dataclass
class Clock:
    """calsync's Clock port, and the emulator's `now()` while `virtual_time` is on."""

    at: datetime = field(default_factory=lambda: datetime(2026, 12, 1, 9, 0, tzinfo=UTC))

    def now(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)

    def advance_to(self, when: datetime) -> None:
        self.at = max(self.at, when)


@dataclass
class LoseAnswer:
    """Lose the answers of the next `count` successful requests matching method/pattern."""

    method: str
    pattern: str  # the emulator's request-log pattern, e.g. /users/{id}/events
    count: int = 1


class EmulatorTransport(httpx.AsyncBaseTransport):
    def __init__(self, emulator: Emulator, base: str = GRAPH_BASE) -> None:
        self.emulator = emulator
        self.base = base
        self.lose: list[LoseAnswer] = []
        self.lost: list[tuple[str, str]] = []
        self.requests = 0
        self.after: list[Callable[[Call, Reply], None]] = []  # told of each answer, lost or not

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        body = await request.aread()
        m = _TOKEN.fullmatch(request.headers.get("Authorization", "").strip())
        tenant = self.emulator.world.tenants.get(m.group(1).lower()) if m else None
        if m is None or tenant is None:
            return _response(request, Reply(401, error_body("InvalidAuthenticationToken", "Invalid audience.")))
        path = request.url.path
        prefix = httpx.URL(self.base).path
        if not path.startswith(prefix):
            raise AssertionError(f"a Graph request outside {self.base}: {request.url}")
        call = Call(
            method=request.method,
            path=path[len(prefix) :] or "/",
            query=dict(request.url.params.multi_items()),
            headers=CIMultiDict(request.headers.multi_items()),
            body=body,
            tenant=tenant,
            app_id=(m.group(2) or DEFAULT_APP_ID).lower(),
            base=self.base,
        )
        reply = await self.emulator.handle(call)
        for observe in self.after:
            observe(call, reply)
        if reply.status < 400:
            name = _pattern_name(call.pattern)
            for rule in self.lose:
                if rule.method == call.method and rule.pattern.lower() == name.lower():
                    rule.count -= 1
                    if rule.count <= 0:
                        self.lose.remove(rule)
                    self.lost.append((call.method, name))
                    raise httpx.ReadTimeout("the answer was lost after Graph applied the request", request=request)
        return _response(request, reply)


def _response(request: httpx.Request, reply: Reply) -> httpx.Response:
    headers = {"request-id": str(uuid.uuid4()), **reply.headers}
    if reply.body is None:
        return httpx.Response(reply.status, headers=headers, request=request)
    headers["Content-Type"] = JSON_TYPE
    return httpx.Response(reply.status, headers=headers, content=json.dumps(reply.body).encode(), request=request)


class InProcessNotifier(Notifier):
    """Validation through calsync's handler; notifications into `outbox` (url, item)."""

    def __init__(self, world: Any, handshake: Callable[[str, str], Any]) -> None:
        super().__init__(world)
        self.handshake = handshake  # async (url, token) -> func.HttpResponse
        self.outbox: list[tuple[str, dict[str, Any]]] = []
        self.validations = 0

    async def validate(self, url: str) -> None:
        token = f"Validation: Testing client application reachability for subscription Request-Id: {uuid.uuid4()}"
        self.validations += 1
        answer: func.HttpResponse = await self.handshake(url, token)
        if answer.status_code != 200:
            raise ValidationFailed(f"Subscription validation request failed (got {answer.status_code}).")
        if not (answer.mimetype or "").lower().startswith("text/plain"):
            raise ValidationFailed("Subscription validation request failed. Response must be text/plain.")
        if answer.get_body().decode() != token:
            raise ValidationFailed("Subscription validation request failed. Response must match validationToken.")

    def enqueue(self, url: str, item: dict[str, Any]) -> None:
        if not self.world.faults.deliver_notifications:
            self.dropped += 1
            return
        self.outbox.append((url, item))

    def take(self) -> list[tuple[str, dict[str, Any]]]:
        """What Graph would POST now: one collection per URL, in order (the 50 ms batching)."""
        by_url: dict[str, list[dict[str, Any]]] = {}
        for url, item in self.outbox:
            by_url.setdefault(url, []).append(item)
        self.outbox.clear()
        return [(url, {"value": items}) for url, items in by_url.items()]


@contextmanager
def virtual_time(clock: Clock, seed: int = 0) -> Iterator[None]:
    """While on: the emulator's `now()` is `clock`, the SDK's retry waits move `clock`
    instead of sleeping, calsync's wait for a racing subscription create does not sleep,
    and the emulator's ids come from a seeded generator (so a run is reproducible)."""
    from kiota_http.middleware import retry_handler

    from shared.service import subscriptions

    real_sleep = asyncio.sleep

    async def virtual_sleep(delay: float) -> None:
        clock.advance(seconds=float(delay))
        await real_sleep(0)

    rng = random.Random(seed)
    counter = itertools.count(1)

    def event_ids(mailbox_id: str) -> tuple[str, str]:
        body = uuid.UUID(mailbox_id).bytes + b"\x00\x46\x00\x00" + rng.randbytes(26) + next(counter).to_bytes(4, "big")
        return emu_ids.b64(b"\x00\x03\x24\x00" + body), emu_ids.b64(b"\x00\x09\x00\x2e\x00\x00" + body)

    def ical_uid() -> str:
        return "040000008200E00074C5B7101A82E00800000000" + rng.randbytes(28).hex().upper()

    def guid() -> str:
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))

    original_record_of = subscriptions._record_of

    async def record_of_now(services: Any, subscription_id: str, wait_s: float = 0.0) -> Any:
        return await original_record_of(services, subscription_id, 0.0)

    # Every emulator module that took the clock or an id maker from core.ids gets the
    # deterministic one (whatever module the name was imported into).
    deterministic = {"now": clock.now, "new_event_ids": event_ids, "new_ical_uid": ical_uid, "new_guid": guid}
    patches: list[tuple[Any, str, Any]] = [
        (module, name, value)
        for module in [m for n, m in list(sys.modules.items()) if n.startswith("devtools.graph_emulator")]
        for name, value in deterministic.items()
        if getattr(module, name, None) is getattr(emu_ids, name)
    ]
    patches += [
        (retry_handler, "asyncio", SimpleNamespace(sleep=virtual_sleep)),
        (subscriptions, "_record_of", record_of_now),
    ]
    saved = [(target, name, getattr(target, name)) for target, name, _ in patches]
    try:
        for target, name, value in patches:
            setattr(target, name, value)
        yield
    finally:
        for target, name, value in saved:
            setattr(target, name, value)
