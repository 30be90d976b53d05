"""Credentials and SDK clients for Microsoft Graph, per customer tenant.

Every mode is an azure-identity credential except `emulator`, whose token is the literal
`emulator:<tenantId>` the local Graph emulator expects. The msgraph-sdk client keeps its
default middleware (retry with Retry-After, redirects, telemetry); only the base URL and
the credential differ between Graph and the emulator.
"""

from __future__ import annotations

import time
from typing import Any

from azure.core.credentials import AccessToken
from azure.core.credentials_async import AsyncTokenCredential
from kiota_authentication_azure.azure_identity_authentication_provider import AzureIdentityAuthenticationProvider
from msgraph import GraphRequestAdapter, GraphServiceClient

from shared.adapters.settings import certificate_bytes
from shared.core.settings import Settings

GRAPH_SCOPE = "https://graph.microsoft.com/.default"


class EmulatorCredential(AsyncTokenCredential):
    """The local emulator's token: `emulator:<tenantId>[:<appId>]`."""

    def __init__(self, tenant_id: str, app_id: str | None = None) -> None:
        self.token = f"emulator:{tenant_id}" + (f":{app_id}" if app_id else "")

    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(self.token, int(time.time()) + 3600)

    async def close(self) -> None:
        return None

    async def __aexit__(self, *args: Any) -> None:
        return None


def credential_for(settings: Settings, tenant_id: str) -> AsyncTokenCredential:
    mode = settings.graph_auth_mode
    if mode == "emulator":
        return EmulatorCredential(tenant_id)
    from azure.identity import aio as identity

    client_id = settings.graph_client_id or ""
    if mode == "client_secret":
        return identity.ClientSecretCredential(tenant_id, client_id, settings.graph_client_secret or "")
    if mode == "certificate":
        if settings.graph_certificate:
            return identity.CertificateCredential(
                tenant_id,
                client_id,
                certificate_data=certificate_bytes(settings.graph_certificate),
                password=settings.graph_certificate_password,
            )
        return identity.CertificateCredential(
            tenant_id,
            client_id,
            settings.graph_certificate_path or "",
            password=settings.graph_certificate_password,
        )
    if mode == "workload_identity":
        return identity.WorkloadIdentityCredential(
            tenant_id=tenant_id, client_id=client_id, token_file_path=settings.federated_token_file
        )
    # managed_identity: the Function app's managed identity is a federated credential of the
    # multi-tenant app registration, so it can get tokens in every customer tenant.
    return FederatedManagedIdentityCredential(tenant_id, client_id, settings.managed_identity_client_id)


class FederatedManagedIdentityCredential(AsyncTokenCredential):
    """A token for a customer tenant, asserted with the managed identity's token.

    azure-identity's ClientAssertionCredential wants its assertion from a synchronous
    callback; calling the (sync) managed-identity endpoint there would block the event
    loop. Instead the assertion is fetched here with the async ManagedIdentityCredential
    (which caches it) before each token request, and the callback only returns it."""

    EXCHANGE_SCOPE = "api://AzureADTokenExchange/.default"

    def __init__(self, tenant_id: str, client_id: str, managed_identity_client_id: str | None) -> None:
        from azure.identity import aio as identity

        self._managed = identity.ManagedIdentityCredential(client_id=managed_identity_client_id)
        self._assertion = ""
        self._inner = identity.ClientAssertionCredential(tenant_id, client_id, lambda: self._assertion)

    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self._assertion = (await self._managed.get_token(self.EXCHANGE_SCOPE)).token
        return await self._inner.get_token(*scopes, **kwargs)

    async def close(self) -> None:
        await self._inner.close()
        await self._managed.close()

    async def __aexit__(self, *args: Any) -> None:
        await self.close()


def graph_client(settings: Settings, tenant_id: str) -> tuple[GraphServiceClient, GraphRequestAdapter]:
    """An SDK client for one tenant with the default middleware, pointed at GRAPH_BASE_URL."""
    auth = AzureIdentityAuthenticationProvider(credential_for(settings, tenant_id), scopes=[GRAPH_SCOPE])
    adapter = GraphRequestAdapter(auth)
    adapter.base_url = settings.graph_base_url
    return GraphServiceClient(request_adapter=adapter), adapter
