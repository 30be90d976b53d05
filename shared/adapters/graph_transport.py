"""Sending requests built by msgraph-sdk's builders: per-tenant clients, per-mailbox gates,
raw JSON out, and every failure translated (shared.adapters.graph_errors).

Responses are read as raw JSON through the SDK's transport (`send_primitive_async(...,
"bytes")`): typed models cost ~12 ms of CPU per event (GRAPH-FACTS §9). The SDK's
RetryHandler retries 429/503/504 honouring Retry-After, a bounded number of times.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections import OrderedDict
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import httpx
from kiota_abstractions.method import Method
from kiota_abstractions.request_information import RequestInformation
from kiota_authentication_azure.azure_identity_authentication_provider import AzureIdentityAuthenticationProvider
from kiota_http.middleware.options import RetryHandlerOption
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph_core import GraphClientFactory

from shared.adapters import telemetry
from shared.adapters.graph_auth import GRAPH_SCOPE, credential_for
from shared.adapters.graph_errors import translate
from shared.core.settings import Settings

log = logging.getLogger("calsync.graph")

ERRORS: dict[str, Any] = {"XXX": ODataError}
MAILBOX_CONCURRENCY = 4  # Outlook: 4 concurrent requests per app and mailbox
REQUEST_TIMEOUT_S = 30.0
MAX_TENANT_CLIENTS = 256  # SDK clients kept (one per customer tenant), least recently used dropped
MAX_MAILBOX_GATES = 10_000  # idle per-mailbox gates kept


class GraphTransport:
    """One per event loop; one SDK client per customer tenant (bounded, LRU)."""

    def __init__(
        self, settings: Settings, *, max_retries: int = 2, http_transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.settings = settings
        self.max_retries = max_retries
        # What sends the requests below the SDK's middleware (retry, redirects, telemetry);
        # None is httpx's network transport. Tests pass an in-process one (tests/model).
        self.http_transport = http_transport
        self._clients: OrderedDict[str, tuple[GraphServiceClient, GraphRequestAdapter]] = OrderedDict()
        self._gates: OrderedDict[tuple[str, str], asyncio.Semaphore] = OrderedDict()
        self._closing: set[asyncio.Task[None]] = set()

    def _gate(self, tenant_id: str, mailbox_id: str) -> asyncio.Semaphore:
        key = (tenant_id, mailbox_id)
        gate = self._gates.get(key)
        if gate is None:
            gate = self._gates[key] = asyncio.Semaphore(MAILBOX_CONCURRENCY)
            if len(self._gates) > MAX_MAILBOX_GATES:
                self._drop_idle_gates()
        else:
            self._gates.move_to_end(key)
        return gate

    def _drop_idle_gates(self) -> None:
        # Only a gate nobody holds or waits on may go: dropping a busy one would let a
        # fifth request through.
        for key in list(self._gates)[: len(self._gates) - MAX_MAILBOX_GATES]:
            gate = self._gates[key]
            if not gate.locked() and gate._value == MAILBOX_CONCURRENCY:  # asyncio has no public "idle"
                del self._gates[key]

    def client(self, tenant_id: str) -> tuple[GraphServiceClient, GraphRequestAdapter]:
        found = self._clients.get(tenant_id)
        if found is not None:
            self._clients.move_to_end(tenant_id)
            return found
        auth = AzureIdentityAuthenticationProvider(credential_for(self.settings, tenant_id), scopes=[GRAPH_SCOPE])
        http = GraphClientFactory.create_with_default_middleware(
            client=httpx.AsyncClient(
                timeout=httpx.Timeout(REQUEST_TIMEOUT_S, connect=10.0),
                transport=ObservedTransport(self.http_transport or httpx.AsyncHTTPTransport()),
            )
        )
        adapter = GraphRequestAdapter(auth, http)
        adapter.base_url = self.settings.graph_base_url
        found = self._clients[tenant_id] = (GraphServiceClient(request_adapter=adapter), adapter)
        while len(self._clients) > MAX_TENANT_CLIENTS:
            _, (_, old) = self._clients.popitem(last=False)
            task = asyncio.get_running_loop().create_task(_close_adapter(old))
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)
        return found

    async def close(self) -> None:
        for _client, adapter in self._clients.values():
            await _close_adapter(adapter)
        self._clients.clear()
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)

    async def send(
        self, tenant_id: str, info: RequestInformation, *, retries: int | None = None, mailbox: str | None = None
    ) -> Any:
        """Send a request built by an SDK builder; the JSON answer as dicts (None for 204).

        With `mailbox`, at most 4 requests to that mailbox are in flight from this process."""
        _, adapter = self.client(tenant_id)
        info.add_request_options([RetryHandlerOption(max_retries=self.max_retries if retries is None else retries)])
        method = info.http_method.value if info.http_method else "GET"
        route = telemetry.graph_route(info.url_template, None if info.url_template else _set_url(info))
        with telemetry.graph_request(method, route):
            try:
                if mailbox is None:
                    raw = await adapter.send_primitive_async(info, "bytes", ERRORS)
                else:
                    async with self._gate(tenant_id, mailbox):
                        raw = await adapter.send_primitive_async(info, "bytes", ERRORS)
            except Exception as exc:
                error = translate(exc)
                if error is None:
                    raise  # not a Graph failure: a bug, and seen as one
                raise error from exc
        return json.loads(raw) if raw else None

    async def pages(
        self, tenant_id: str, info: RequestInformation, builder: Any, *, mailbox: str | None = None
    ) -> AsyncIterator[list[dict]]:
        """Every page of a collection, following @odata.nextLink (through empty pages)."""
        page = await self.send(tenant_id, info, mailbox=mailbox)
        while True:
            yield page.get("value", [])
            link = page.get("@odata.nextLink")
            if not link:
                return
            next_info = builder.with_url(link).to_get_request_information()
            for name, values in info.headers.get_all().items():
                for value in values:
                    next_info.headers.add(name, value)
            page = await self.send(tenant_id, next_info, mailbox=mailbox)

    async def every_item(
        self, tenant_id: str, info: RequestInformation, builder: Any, *, mailbox: str | None = None
    ) -> list[dict]:
        """Every item of a collection, all its pages read."""
        return [item async for page in self.pages(tenant_id, info, builder, mailbox=mailbox) for item in page]

    async def delta_round(
        self, tenant_id: str, info: RequestInformation, builder: Any, prefer: tuple[str, ...], mailbox: str
    ) -> tuple[list[dict], str]:
        """One delta round from its first request: every item through its pages (empty ones
        too), each page asked with the same Prefer values; the items and the new deltaLink."""
        for value in prefer:
            info.headers.add("Prefer", value)
        items: list[dict] = []
        page = await self.send(tenant_id, info, mailbox=mailbox)
        while True:
            items.extend(page.get("value", []))
            next_link = page.get("@odata.nextLink")
            if not next_link:
                return items, page.get("@odata.deltaLink") or ""
            info = builder.with_url(next_link).to_get_request_information()
            for value in prefer:
                info.headers.add("Prefer", value)
            page = await self.send(tenant_id, info, mailbox=mailbox)


class ObservedTransport(httpx.AsyncBaseTransport):
    """Below the SDK's retry middleware: sees every try of a request (a 429 the retry got
    past included) for the request's span and the throttling metric."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        telemetry.graph_response(response.status_code, response.headers.get("Retry-After"))
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


async def _close_adapter(adapter: GraphRequestAdapter) -> None:
    await adapter._http_client.aclose()  # the SDK exposes no close of its own


def _set_url(info: RequestInformation) -> str | None:
    """A URL set directly (a raw POST, a nextLink); None where the request has none yet."""
    try:
        return str(info.url)
    except Exception:  # kiota raises a bare Exception for a request with neither
        return None


def with_body(
    info: RequestInformation, method: Method, body: dict[str, Any] | None = None, prefer: tuple[str, ...] = ()
) -> RequestInformation:
    """A builder's request turned into a raw-JSON write (no typed model to build)."""
    info.http_method = method
    for value in prefer:
        info.headers.add("Prefer", value)
    if body is not None:
        info.set_stream_content(json.dumps(body).encode(), "application/json")
    return info


def raw_post(url: str, body: dict[str, Any]) -> RequestInformation:
    info = RequestInformation(Method.POST)
    info.url = url
    info.headers.try_add("Accept", "application/json")
    info.set_stream_content(json.dumps(body).encode(), "application/json")
    return info


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(re.sub(r"(\.\d{6})\d+", r"\1", value.replace("Z", "+00:00")))
