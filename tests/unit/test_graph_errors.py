"""Graph's failures become our error types in one place (a bug of ours is not one of them),
and the gateway's per-tenant and per-mailbox state stays bounded."""

from __future__ import annotations

import httpx
import pytest
from azure.core.exceptions import ClientAuthenticationError
from kiota_abstractions.request_information import RequestInformation
from msgraph.generated.models.o_data_errors.main_error import MainError
from msgraph.generated.models.o_data_errors.o_data_error import ODataError

from shared.adapters import graph_transport
from shared.adapters.graph_errors import translate
from shared.adapters.graph_transport import GraphTransport
from shared.adapters.settings import load
from shared.core.errors import (
    ConsentRequired,
    DeltaTokenExpired,
    GraphNotFound,
    GraphRejected,
    GraphUnavailable,
    MailboxNotEnabled,
)


def odata(status: int, code: str, message: str = "m", headers: dict[str, str] | None = None) -> ODataError:
    exc = ODataError(error=MainError(code=code, message=message))
    exc.response_status_code = status
    exc.response_headers = headers or {}
    return exc


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (401, "InvalidAuthenticationToken", ConsentRequired),
        (403, "Authorization_RequestDenied", ConsentRequired),
        (403, "ErrorAccessDenied", ConsentRequired),
        (404, "MailboxNotEnabledForRESTAPI", MailboxNotEnabled),
        (400, "MailboxNotSupportedForRESTAPI", MailboxNotEnabled),
        (410, "syncStateNotFound", DeltaTokenExpired),
        (400, "resyncRequired", DeltaTokenExpired),
        (400, "syncStateInvalid", DeltaTokenExpired),
        (400, "SyncStateNotFound", DeltaTokenExpired),
        (400, "RESYNCREQUIRED", DeltaTokenExpired),
        (404, "ErrorItemNotFound", GraphNotFound),
        (429, "ApplicationThrottled", GraphUnavailable),
        (503, "ServiceUnavailable", GraphUnavailable),
        (504, "GatewayTimeout", GraphUnavailable),
        (400, "ErrorInvalidRequest", GraphRejected),
        (403, "ExtensionError", GraphRejected),
        (409, "ErrorConflict", GraphRejected),
    ],
)
def test_graph_answers_map_to_our_types(status: int, code: str, kind: type) -> None:
    error = translate(odata(status, code, "what Graph said"))
    assert type(error) is kind
    assert (error.graph_status, error.graph_code) == (status, code)
    assert error.message == f"{code}: what Graph said"


def test_retry_after_and_the_duplicate_subscription_id_are_read_once_here() -> None:
    throttled = translate(odata(429, "ApplicationThrottled", headers={"Retry-After": "7"}))
    assert throttled.retry_after == 7.0
    duplicate = translate(
        odata(409, "ExtensionError", "Subscription Id 0f61e63f-4cd5-4d4d-aa28-8f8bec6bf998 already exists for ...")
    )
    assert isinstance(duplicate, GraphRejected) and duplicate.existing_id == "0f61e63f-4cd5-4d4d-aa28-8f8bec6bf998"
    assert translate(odata(403, "ExtensionError")).mailbox_policy


def test_transport_failures_are_retryable_and_auth_failures_need_consent() -> None:
    assert isinstance(translate(httpx.ReadTimeout("slow")), GraphUnavailable)
    assert isinstance(translate(httpx.ConnectError("refused")), GraphUnavailable)
    assert isinstance(translate(ClientAuthenticationError("AADSTS700016: app not found")), ConsentRequired)


@pytest.mark.parametrize("bug", [KeyError("id"), TypeError("NoneType"), ValueError("bad json")])
def test_a_bug_of_ours_is_not_translated_into_an_outage(bug: Exception) -> None:
    assert translate(bug) is None


# -- the transport: translation at the one chokepoint, and bounded per-tenant state ------------
def _transport(monkeypatch: pytest.MonkeyPatch, **limits: int) -> GraphTransport:
    for name, value in limits.items():
        monkeypatch.setattr(graph_transport, name, value)
    settings = load(
        {
            "AzureWebJobsStorage": "UseDevelopmentStorage=true",
            "GRAPH_AUTH_MODE": "emulator",
            "GRAPH_BASE_URL": "http://127.0.0.1:9/v1.0",
            "CALSYNC_PUBLIC_BASE_URL": "http://127.0.0.1:1",
        }
    )
    return GraphTransport(settings)


async def test_send_translates_graph_failures_and_lets_bugs_through(monkeypatch: pytest.MonkeyPatch) -> None:
    transport = _transport(monkeypatch)

    class Adapter:
        def __init__(self, exc: Exception) -> None:
            self.exc = exc

        async def send_primitive_async(self, *args: object) -> bytes:
            raise self.exc

    monkeypatch.setattr(transport, "client", lambda tenant: (None, Adapter(odata(404, "ErrorItemNotFound"))))
    with pytest.raises(GraphNotFound):
        await transport.send("t", RequestInformation())
    monkeypatch.setattr(transport, "client", lambda tenant: (None, Adapter(KeyError("id"))))
    with pytest.raises(KeyError):
        await transport.send("t", RequestInformation())


async def test_per_tenant_clients_are_bounded_least_recently_used_first(monkeypatch: pytest.MonkeyPatch) -> None:
    transport = _transport(monkeypatch, MAX_TENANT_CLIENTS=3)
    for tenant in ("a", "b", "c"):
        transport.client(tenant)
    transport.client("a")  # used again: "b" is now the oldest
    transport.client("d")
    assert list(transport._clients) == ["c", "a", "d"]
    await transport.close()


async def test_mailbox_gates_are_bounded_but_a_busy_gate_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    transport = _transport(monkeypatch, MAX_MAILBOX_GATES=2)
    busy = transport._gate("t", "busy")
    await busy.acquire()
    for mailbox in ("m1", "m2", "m3"):
        transport._gate("t", mailbox)
    assert ("t", "busy") in transport._gates and len(transport._gates) <= 3
    assert transport._gate("t", "busy") is busy  # the same gate: still at most 4 in flight
    busy.release()


async def test_the_managed_identity_assertion_is_fetched_without_blocking_the_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """managed_identity mode: azure-identity wants the assertion from a synchronous callback;
    ours only returns what the async managed-identity credential fetched just before."""
    from azure.core.credentials import AccessToken

    from shared.adapters.graph_auth import FederatedManagedIdentityCredential

    credential = FederatedManagedIdentityCredential("tenant", "00000000-0000-0000-0000-000000000001", None)
    asked: list[str] = []

    class Managed:
        async def get_token(self, scope: str) -> AccessToken:
            asked.append(scope)
            return AccessToken("assertion-from-imds", 0)

        async def close(self) -> None:
            return None

    class Inner:
        def __init__(self, callback) -> None:  # type: ignore[no-untyped-def]
            self.callback = callback

        async def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
            return AccessToken(f"token-for:{self.callback()}", 0)

        async def close(self) -> None:
            return None

    callback = credential._inner._func  # what the real ClientAssertionCredential calls (sync)
    monkeypatch.setattr(credential, "_managed", Managed())
    monkeypatch.setattr(credential, "_inner", Inner(lambda: credential._assertion))
    token = await credential.get_token("https://graph.microsoft.com/.default")
    assert asked == ["api://AzureADTokenExchange/.default"]
    assert token.token == "token-for:assertion-from-imds"
    assert callback() == "assertion-from-imds"  # the real callback returns it without any I/O
    await credential.close()
