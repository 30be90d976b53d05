"""Sending to Azure Storage queues the way the Functions queue trigger reads them.

host.json sets `messageEncoding: base64`, so every producer must Base64-encode; the
azure-storage-queue client sends plain text unless told otherwise.
"""

from __future__ import annotations

import asyncio
from typing import Any

from azure.core.exceptions import ResourceExistsError
from azure.storage.queue import TextBase64DecodePolicy, TextBase64EncodePolicy
from azure.storage.queue.aio import QueueClient, QueueServiceClient

from shared.adapters.message_wire import encode
from shared.adapters.messages import QueueMessage
from shared.adapters.storage_errors import guarded
from shared.adapters.storage_http import use_env_settings
from shared.core.settings import StorageSettings


class QueueSender:
    """One per event loop; queues are created on first use."""

    def __init__(self, storage: StorageSettings) -> None:
        self._storage = storage
        self._service: QueueServiceClient | None = None
        self._queues: dict[str, QueueClient] = {}
        self._lock = asyncio.Lock()

    def _service_client(self) -> QueueServiceClient:
        if self._service is None:
            opts: dict[str, Any] = {
                "retry_total": 3,
                "connection_timeout": 5,
                "read_timeout": 30,
                "use_env_settings": use_env_settings(),
                "message_encode_policy": TextBase64EncodePolicy(),
                "message_decode_policy": TextBase64DecodePolicy(),
            }
            if self._storage.connection_string:
                self._service = QueueServiceClient.from_connection_string(self._storage.connection_string, **opts)
            else:
                from azure.identity.aio import DefaultAzureCredential

                cred = DefaultAzureCredential(managed_identity_client_id=self._storage.identity_client_id)
                self._service = QueueServiceClient(self._storage.queue_endpoint, credential=cred, **opts)
        return self._service

    async def queue(self, name: str) -> QueueClient:
        client = self._queues.get(name)
        if client is not None:
            return client
        async with self._lock:  # concurrent first sends must not each build a client
            return await self._create(name)

    async def _create(self, name: str) -> QueueClient:
        client = self._queues.get(name)
        if client is None:
            # get_queue_client() drops the service client's encode policy: build it here.
            client = QueueClient(
                self._service_client().url,
                name,
                credential=self._service_client().credential,
                message_encode_policy=TextBase64EncodePolicy(),
                message_decode_policy=TextBase64DecodePolicy(),
                retry_total=3,
                connection_timeout=5,
                read_timeout=30,
                use_env_settings=use_env_settings(),
            )
            try:
                await client.create_queue()
            except ResourceExistsError:
                pass
            self._queues[name] = client
        return client

    @guarded
    async def send(self, message: QueueMessage, *, delay_seconds: int | None = None) -> None:
        """Durable when this returns: the message is in its queue (hidden for delay_seconds)."""
        text = encode(message)
        client = await self.queue(message.QUEUE)
        await client.send_message(text, visibility_timeout=delay_seconds)

    @guarded
    async def ping(self) -> None:
        """Raise if the queue service cannot be reached."""
        async for _ in self._service_client().list_queues(results_per_page=1):
            break

    async def close(self) -> None:
        for client in self._queues.values():
            await client.close()
        self._queues.clear()
        if self._service is not None:
            await self._service.close()
            self._service = None
