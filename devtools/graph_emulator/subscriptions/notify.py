"""Subscription validation and notification delivery, as Graph does it over webhooks."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import deque
from typing import Any
from urllib.parse import quote

import aiohttp

from devtools.graph_emulator.calendar.models import Event
from devtools.graph_emulator.calendar.render import event_id
from devtools.graph_emulator.core.errors import GraphError
from devtools.graph_emulator.core.ids import now
from devtools.graph_emulator.core.times import fmt_utc
from devtools.graph_emulator.core.world import World
from devtools.graph_emulator.subscriptions.models import Subscription
from devtools.graph_schema.check import problems

log = logging.getLogger("graph_emulator")

BATCH_WINDOW_S = 0.05  # notifications to one URL within this window share a POST
# concepts/change-notifications-delivery-webhooks.md, "HTTP codes and retry logic": failed
# deliveries are retried "at exponential backoff intervals" "for up to 4 hours". The
# intervals are not documented; the emulator waits 1 s, 2 s, 4 s, … (doubling) and makes a
# last attempt at the 4-hour mark: attempts at 0, 1, 3, 7, …, 8191 s and 14400 s (15 in all).
RETRY_BASE_S = 1.0
RETRY_HORIZON_S = 4 * 3600.0
MAX_LOG = 20_000


class ValidationFailed(Exception):
    pass


class Notifier:
    def __init__(self, world: World) -> None:
        self.world = world
        self.deliveries: deque[dict[str, Any]] = deque(maxlen=MAX_LOG)
        self.dropped = 0
        self.abandoned = 0  # POSTs given up after 4 hours of retries
        self._pending: dict[str, list[dict[str, Any]]] = {}
        self._flush_tasks: dict[str, asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        return self._session

    async def close(self) -> None:
        for task in list(self._tasks) + list(self._flush_tasks.values()):
            task.cancel()
        if self._session is not None:
            await self._session.close()

    def reset(self) -> None:
        for task in list(self._tasks) + list(self._flush_tasks.values()):
            task.cancel()
        self._tasks.clear()
        self._flush_tasks.clear()
        self._pending.clear()
        self.deliveries.clear()
        self.dropped = 0
        self.abandoned = 0

    # -- validation handshake -----------------------------------------------------------
    async def validate(self, url: str) -> None:
        """POST url?validationToken=…; the receiver must echo the decoded token as text/plain
        within the deadline (10 s, concepts/includes/change-notifications-delivery-notificationurl-validation.md;
        `validationTimeoutSeconds` changes it)."""
        token = f"Validation: Testing client application reachability for subscription Request-Id: {uuid.uuid4()}"
        target = f"{url}{'&' if '?' in url else '?'}validationToken={quote(token)}"
        started = time.perf_counter()
        try:
            async with self.session().post(
                target,
                data=b"",
                headers={"Content-Type": "text/plain; charset=utf-8"},
                timeout=aiohttp.ClientTimeout(total=self.world.faults.validation_timeout_s),
            ) as resp:
                body = await resp.text()
                ctype = resp.headers.get("Content-Type", "")
                status = resp.status
        except TimeoutError:
            raise ValidationFailed("Subscription validation request timed out.") from None
        except aiohttp.ClientError as exc:
            raise ValidationFailed(f"Subscription validation request failed. {type(exc).__name__}.") from None
        finally:
            self._record(url, {"validationToken": token}, None, started, kind="validation")
        self.deliveries[-1]["status"] = status
        if status != 200:
            raise ValidationFailed(
                f"Subscription validation request failed. Notification endpoint must respond with 200 OK to "
                f"validation request (got {status})."
            )
        if not ctype.lower().startswith("text/plain"):
            raise ValidationFailed("Subscription validation request failed. Response must be text/plain.")
        if body != token:
            raise ValidationFailed(
                "Subscription validation request failed. Response must exactly match validationToken query parameter."
            )

    # -- change notifications ------------------------------------------------------------
    def event_changed(self, ev: Event, change_type: str) -> None:
        for sub in list(self.world.subscriptions.values()):
            if sub.mailbox_id != ev.mailbox_id or change_type not in sub.change_types:
                continue
            if sub.expiration <= now():
                continue
            eid = event_id(ev, sub.immutable_ids)
            resource = f"Users/{sub.mailbox_id}/Events/{eid}"
            item = {
                "subscriptionId": sub.id,
                "subscriptionExpirationDateTime": fmt_utc(sub.expiration),
                "changeType": change_type,
                "resource": resource,
                "resourceData": {
                    "@odata.type": "#Microsoft.Graph.Event",
                    "@odata.id": resource,
                    "@odata.etag": f'W/"{ev.change_key}"',
                    "id": eid,
                },
                "clientState": sub.client_state,
                "tenantId": sub.tenant_id,
            }
            self.enqueue(sub.notification_url, item)

    def lifecycle(self, sub: Subscription, event: str) -> bool:
        if not sub.lifecycle_url:
            return False
        self.enqueue(
            sub.lifecycle_url,
            {
                "subscriptionId": sub.id,
                "subscriptionExpirationDateTime": fmt_utc(sub.expiration),
                "tenantId": sub.tenant_id,
                "clientState": sub.client_state,
                "lifecycleEvent": event,
            },
        )
        return True

    def enqueue(self, url: str, item: dict[str, Any]) -> None:
        found = problems("graph.changeNotification", item)
        if found:  # the emulator's bug: the request that caused it fails, naming it
            raise GraphError(500, "EmulatorSchemaViolation", "; ".join(found[:5]))
        if not self.world.faults.deliver_notifications:
            self.dropped += 1
            return
        self._pending.setdefault(url, []).append(item)
        if url not in self._flush_tasks:
            self._flush_tasks[url] = asyncio.get_running_loop().create_task(self._flush_later(url))

    async def _flush_later(self, url: str) -> None:
        await asyncio.sleep(BATCH_WINDOW_S)
        self._flush_tasks.pop(url, None)
        items = self._pending.pop(url, [])
        if items:
            task = asyncio.get_running_loop().create_task(self._deliver(url, {"value": items}))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _deliver(self, url: str, body: dict[str, Any]) -> None:
        """POST until a 2xx; retry with doubling waits for up to RETRY_HORIZON_S of emulated time.
        Waits are multiplied by `timeScale`; the time an attempt itself takes counts as is."""
        elapsed = 0.0  # emulated seconds since the first attempt
        attempt = 0
        while True:
            attempt += 1
            started = time.perf_counter()
            status: int | None = None
            try:
                async with self.session().post(
                    url, json=body, timeout=aiohttp.ClientTimeout(total=self.world.faults.notification_timeout_s)
                ) as resp:
                    await resp.read()
                    status = resp.status
            except (TimeoutError, aiohttp.ClientError):
                status = None
            self._record(url, body, status, started, attempt=attempt, offset=elapsed)
            if status is not None and 200 <= status < 300:
                return
            elapsed += time.perf_counter() - started
            remaining = RETRY_HORIZON_S - elapsed
            if remaining <= 0:
                self.abandoned += 1
                self.deliveries[-1]["final"] = True
                log.warning("gave up delivering to %s after %d attempts over 4 hours", url, attempt)
                return
            wait = min(RETRY_BASE_S * 2 ** (attempt - 1), remaining)
            await asyncio.sleep(wait * self.world.faults.time_scale)
            elapsed += wait

    def _record(
        self,
        url: str,
        body: dict[str, Any],
        status: int | None,
        started: float,
        *,
        kind: str = "notification",
        attempt: int = 1,
        offset: float = 0.0,
    ) -> None:
        self.deliveries.append(
            {
                "at": fmt_utc(now()),
                "kind": kind,
                "url": url,
                "body": body,
                "status": status,
                "attempt": attempt,
                "sinceFirstAttemptSeconds": round(offset, 3),  # emulated time, for retries
                "latencyMs": round((time.perf_counter() - started) * 1000, 1),
            }
        )
