"""The booking product's webhook URL cannot make calsync probe the network it runs in
(issue #25): loopback, private, link-local, shared, multicast and reserved addresses are
refused — as literals when the URL is saved, and after resolving the name at each delivery —
the request goes to the address that was checked, and redirects are never followed."""

from __future__ import annotations

import ipaddress
from typing import Any

import httpx
import pytest

from shared.adapters import webhook_http
from shared.adapters.webhook_http import HttpWebhookClient
from shared.core.errors import InvalidInput
from shared.core.validation import https_url

NOT_PUBLIC = [
    "https://10.0.0.5/hook",
    "https://169.254.169.254/latest/meta-data",
    "https://127.0.0.1/",
    "https://localhost/",
    "https://[::1]/",
    "https://[::ffff:192.168.1.10]/",
    "https://100.64.0.1/",  # shared address space (carrier-grade NAT)
    "https://224.0.0.1/",
    "https://0.0.0.0/",
    "https://240.0.0.1/",
]


@pytest.mark.parametrize("url", NOT_PUBLIC)
def test_a_literal_address_that_is_not_public_is_refused_when_saved(url: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        https_url("webhookUrl", url)
    assert caught.value.field == "webhookUrl" and "public host" in caught.value.message


def test_development_keeps_its_loopback_exception_and_public_hosts_pass() -> None:
    assert https_url("webhookUrl", "http://127.0.0.1:7080/hook", loopback_ok=True)
    assert https_url("webhookUrl", "http://localhost:7080/hook", loopback_ok=True)
    with pytest.raises(InvalidInput):
        https_url("webhookUrl", "https://10.0.0.5/", loopback_ok=True)  # not loopback
    assert https_url("webhookUrl", "https://hooks.example.com/calsync")
    assert https_url("webhookUrl", "https://93.184.216.34/hook")


class Recorder(httpx.AsyncBaseTransport):
    def __init__(self, status: int = 204, headers: dict[str, str] | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self.status, self.headers = status, headers or {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(self.status, headers=self.headers, request=request)


def resolving_to(monkeypatch: pytest.MonkeyPatch, *addresses: str) -> None:
    async def fake(host: str, port: int) -> list[Any]:
        return [ipaddress.ip_address(a) for a in addresses]

    monkeypatch.setattr(webhook_http, "resolve", fake)


@pytest.mark.parametrize("resolved", [("10.0.0.5",), ("93.184.216.34", "192.168.0.1"), ("fe80::1",), ("127.0.0.1",)])
async def test_a_name_that_resolves_to_a_non_public_address_is_refused_at_delivery(
    monkeypatch: pytest.MonkeyPatch, resolved: tuple[str, ...]
) -> None:
    resolving_to(monkeypatch, *resolved)
    transport = Recorder()
    client = HttpWebhookClient(transport=transport)
    try:
        outcome = await client.post("https://hooks.example.com/calsync", b"{}", {})
    finally:
        await client.close()
    assert outcome == "refused: the webhook's host is not a public address"
    assert transport.requests == []  # nothing was sent anywhere


async def test_a_delivery_goes_to_the_checked_address_with_the_name_for_tls(monkeypatch: pytest.MonkeyPatch) -> None:
    resolving_to(monkeypatch, "93.184.216.34")
    transport = Recorder()
    client = HttpWebhookClient(transport=transport)
    try:
        assert await client.post("https://hooks.example.com:8443/calsync?x=1", b"{}", {"webhook-id": "7"}) is None
    finally:
        await client.close()
    [sent] = transport.requests
    assert str(sent.url) == "https://93.184.216.34:8443/calsync?x=1"
    assert sent.headers["host"] == "hooks.example.com:8443" and sent.headers["webhook-id"] == "7"
    assert sent.extensions["sni_hostname"] == "hooks.example.com"


async def test_a_redirect_is_not_followed(monkeypatch: pytest.MonkeyPatch) -> None:
    resolving_to(monkeypatch, "93.184.216.34")
    transport = Recorder(302, {"Location": "http://169.254.169.254/latest/meta-data"})
    client = HttpWebhookClient(transport=transport)
    try:
        assert await client.post("https://hooks.example.com/calsync", b"{}", {}) == "HTTP 302"
    finally:
        await client.close()
    assert len(transport.requests) == 1


async def test_development_may_deliver_to_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    transport = Recorder()
    client = HttpWebhookClient(allow_loopback=True, transport=transport)
    try:
        assert await client.post("http://127.0.0.1:7080/hook", b"{}", {}) is None
    finally:
        await client.close()
    assert str(transport.requests[0].url) == "http://127.0.0.1:7080/hook"
