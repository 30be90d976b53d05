"""Queue triggers and queue output bindings against Azure Storage queues (Azurite).

Like the Functions host: Base64 messages, up to batchSize in flight (refetch at
newBatchThreshold) or, with dynamic concurrency, as many as the host's health allows; a
failed message becomes visible again after visibilityTimeout, and once it has been tried
maxDequeueCount times it moves to `<queue>-poison`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import logging
from typing import Any

import azure.functions as func
from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.functions.queue import QueueMessage
from azure.storage.queue.aio import QueueClient

from devtools.host.concurrency import ADJUST_S, Health, Limit
from devtools.host.config import HostConfig, resolve, storage_connection
from devtools.host.invoke import Invoker
from shared.adapters.storage_http import use_env_settings

log = logging.getLogger("devtools.host")

MIN_POLL_S = 0.1


class QueueClients:
    """Raw-text queue clients keyed by (connection, queue); we do the Base64 ourselves."""

    def __init__(self) -> None:
        self._clients: dict[tuple[str, str], QueueClient] = {}

    async def get(self, connection: str | None, queue: str) -> QueueClient:
        conn = storage_connection(connection)
        key = (conn, queue)
        if key not in self._clients:
            client = QueueClient.from_connection_string(
                conn, queue, retry_total=2, connection_timeout=5, use_env_settings=use_env_settings()
            )
            try:
                await client.create_queue()
            except ResourceExistsError:
                pass
            self._clients[key] = client
        return self._clients[key]

    async def close(self) -> None:
        for client in self._clients.values():
            await client.close()
        self._clients.clear()


def encode(value: Any, encoding: str) -> str:
    if isinstance(value, (dict, list)) and not isinstance(value, str):
        value = json.dumps(value)
    data = value if isinstance(value, bytes) else str(value).encode()
    return base64.b64encode(data).decode() if encoding == "base64" else data.decode()


def output_writer(clients: QueueClients, config: HostConfig):
    async def write_outputs(fn: func.Function, outputs: dict[str, Any], result: Any) -> None:
        """Send what a function set on its queue output bindings (a value or a list)."""
        for binding in fn.get_bindings():
            if binding.type != "queue":
                continue
            value = result if binding.name == "$return" else outputs.get(binding.name)
            if value is None:
                continue
            client = await clients.get(getattr(binding, "connection", None), resolve(binding.queue_name))
            for item in value if isinstance(value, list) else [value]:
                await client.send_message(encode(item, config.message_encoding))

    return write_outputs


class QueueListener:
    def __init__(
        self, fn: func.Function, invoker: Invoker, clients: QueueClients, config: HostConfig, health: Health
    ) -> None:
        self.fn = fn
        self.trigger = fn.get_trigger()
        self.invoker = invoker
        self.clients = clients
        self.config = config
        self.queue_name = resolve(self.trigger.queue_name)
        self._in_flight: set[asyncio.Task[None]] = set()
        self._stopping = asyncio.Event()
        self.limit = Limit(health, fn.get_function_name()) if config.dynamic_concurrency else None

    async def run(self) -> None:
        client = await self.clients.get(self.trigger.connection, self.queue_name)
        poison = await self.clients.get(self.trigger.connection, f"{self.queue_name}-poison")
        delay = MIN_POLL_S
        while not self._stopping.is_set():
            if self.limit is not None:
                capacity = self.limit.capacity(len(self._in_flight))
                if capacity <= 0:  # throttled or in full use: look again soon
                    if self._in_flight:
                        await asyncio.wait(self._in_flight, timeout=ADJUST_S, return_when=asyncio.FIRST_COMPLETED)
                    else:
                        await self._pause(ADJUST_S)
                    continue
            else:
                capacity = self.config.batch_size + self.config.new_batch_threshold - len(self._in_flight)
                if len(self._in_flight) > self.config.new_batch_threshold or capacity <= 0:
                    await asyncio.wait(self._in_flight, return_when=asyncio.FIRST_COMPLETED)
                    continue
                capacity = self.config.batch_size
            try:
                messages = [
                    m
                    async for m in client.receive_messages(
                        max_messages=min(capacity, 32),
                        visibility_timeout=max(1, int(self.config.lease_s)),
                    )
                ]
            except Exception as exc:  # storage hiccup: back off and keep listening
                log.warning("queue %s: receive failed: %s", self.queue_name, exc)
                messages = []
            if not messages:
                await self._pause(delay)
                delay = min(delay * 2, self.config.max_polling_interval_s)
                continue
            delay = MIN_POLL_S
            for message in messages:
                task = asyncio.create_task(self._handle(client, poison, message))
                self._in_flight.add(task)
                task.add_done_callback(self._in_flight.discard)

    async def _handle(self, client: QueueClient, poison: QueueClient, message: Any) -> None:
        raw = message.content or ""
        try:
            body = base64.b64decode(raw, validate=True) if self.config.message_encoding == "base64" else raw.encode()
        except (binascii.Error, ValueError):
            log.error(
                "queue %s: message %s is not Base64; moved to %s-poison", self.queue_name, message.id, self.queue_name
            )
            await self._poison(client, poison, message)
            return
        msg = QueueMessage(
            id=message.id,
            body=body,
            dequeue_count=message.dequeue_count,
            insertion_time=message.inserted_on,
            expiration_time=message.expires_on,
            time_next_visible=message.next_visible_on,
            pop_receipt=message.pop_receipt,
        )
        renewing = asyncio.create_task(self._keep_hidden(client, message))
        try:
            outcome = await self.invoker.invoke(self.fn, "queue", msg)
        finally:
            renewing.cancel()
        try:
            if outcome.error is None:
                await client.delete_message(message.id, message.pop_receipt)
            elif message.dequeue_count >= self.config.max_dequeue_count:
                log.warning(
                    "queue %s: message %s failed %d times; moved to %s-poison",
                    self.queue_name,
                    message.id,
                    message.dequeue_count,
                    self.queue_name,
                )
                await self._poison(client, poison, message)
            else:
                await client.update_message(
                    message.id, message.pop_receipt, visibility_timeout=int(self.config.visibility_timeout_s)
                )
        except ResourceNotFoundError:
            log.warning("queue %s: message %s vanished (pop receipt expired?)", self.queue_name, message.id)

    async def _keep_hidden(self, client: QueueClient, message: Any) -> None:
        """Renew the lease at half-time while the function runs (the message keeps its pop receipt
        fresh in `message`, which the final delete/update then uses)."""
        lease = max(1, int(self.config.lease_s))
        while True:
            await asyncio.sleep(lease / 2)
            try:
                receipt = await client.update_message(message.id, message.pop_receipt, visibility_timeout=lease)
                message.pop_receipt = receipt.pop_receipt
            except Exception as exc:  # gone or storage hiccup: the next renewal or the lease decides
                log.warning("queue %s: could not renew message %s: %s", self.queue_name, message.id, exc)

    async def _poison(self, client: QueueClient, poison: QueueClient, message: Any) -> None:
        await poison.send_message(message.content or "")
        await client.delete_message(message.id, message.pop_receipt)

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    def stop(self) -> None:
        """Take no more messages. The loop is let finish a receive under way rather than
        cancelled in it: a receive cancelled after Storage answered leaves its messages
        hidden for the whole lease, though no one works on them."""
        self._stopping.set()

    async def drain(self) -> None:
        if self._in_flight:
            await asyncio.wait(self._in_flight)
