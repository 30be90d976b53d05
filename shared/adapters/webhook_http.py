"""POSTs to the booking product's webhook, with one pooled httpx client per event loop.

A webhook URL is whatever a key holder typed, so calsync must not become a way to probe the
network it runs in: the host name is resolved at each delivery and every address it
resolves to must be public (not loopback, private, link-local, shared, multicast or
reserved); the request then goes to the address that was checked (the name kept for TLS and
`Host`), so a second answer from DNS cannot swap it; redirects are never followed. In
development, loopback is allowed (the local receiver of `make run`).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit, urlunsplit

import httpx
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from shared.adapters import telemetry

TIMEOUT_S = 10.0
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def public(address: Address) -> bool:
    """An address anyone on the internet could reach (RFC 6890's special ones excluded)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not (address.is_multicast or address.is_reserved or address.is_unspecified)


async def resolve(host: str, port: int) -> list[Address]:
    """Every address `host` resolves to (an address literal: itself)."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [ipaddress.ip_address(info[4][0]) for info in infos]


class HttpWebhookClient:
    def __init__(
        self,
        timeout_s: float = TIMEOUT_S,
        *,
        allow_loopback: bool = False,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._timeout = timeout_s
        self._allow_loopback = allow_loopback
        self._transport = transport
        self._client: httpx.AsyncClient | None = None

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> str | None:
        """None when the receiver answered 2xx, else what went wrong (`HTTP 500`, `ConnectTimeout`,
        `refused: …`)."""
        # The receiver's address is the customer's: the span names neither it nor the body.
        with telemetry.span("webhook POST", kind=SpanKind.CLIENT) as span:
            problem = await self._post(url, body, headers)
            if problem is not None:
                span.set_status(Status(StatusCode.ERROR, problem.split(":")[0]))
            return problem

    async def _post(self, url: str, body: bytes, headers: dict[str, str]) -> str | None:
        parts = urlsplit(url)
        host, port = parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)
        try:
            addresses = await resolve(host, port)
        except OSError:
            return "DNS lookup failed"
        allowed = [a for a in addresses if public(a) or (self._allow_loopback and a.is_loopback)]
        if not addresses or len(allowed) != len(addresses):
            return "refused: the webhook's host is not a public address"
        target = allowed[0]
        literal = f"[{target}]" if target.version == 6 else str(target)
        netloc = f"{literal}:{parts.port}" if parts.port else literal
        pinned = urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
        host_header = f"{host}:{parts.port}" if parts.port else host
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._timeout, follow_redirects=False, transport=self._transport)
        traced = {**headers, "Host": host_header}
        telemetry.inject(traced)  # W3C traceparent: the product may continue the trace
        try:
            response = await self._client.post(
                pinned,
                content=body,
                headers=traced,
                extensions={"sni_hostname": host},  # TLS checks the certificate for the name
            )
        except httpx.HTTPError as exc:
            return type(exc).__name__
        trace.get_current_span().set_attribute("calsync.webhook.status", response.status_code)
        return None if 200 <= response.status_code < 300 else f"HTTP {response.status_code}"

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
