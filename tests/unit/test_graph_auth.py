"""The Graph credential each auth mode builds (no token is asked for: that needs Entra)."""

from __future__ import annotations

import asyncio

from azure.identity.aio import CertificateCredential

from shared.adapters.graph_auth import FederatedManagedIdentityCredential, credential_for
from shared.adapters.settings import load
from tests import certificates

TENANT = "22222222-3333-4444-5555-666666666666"
BASE = {
    "AzureWebJobsStorage": "UseDevelopmentStorage=true",
    "GRAPH_CLIENT_ID": "11111111-2222-3333-4444-555555555555",
    "CALSYNC_PUBLIC_BASE_URL": "https://calsync.example.net",
}


def test_a_key_vault_certificate_becomes_a_certificate_credential() -> None:
    # What the template's certificate choice gives the app: base64 PKCS#12, no file.
    settings = load(
        {**BASE, "GRAPH_AUTH_MODE": "certificate", "GRAPH_CLIENT_CERTIFICATE": certificates.key_vault_certificate()}
    )
    credential = credential_for(settings, TENANT)
    assert isinstance(credential, CertificateCredential)
    asyncio.run(credential.close())


def test_the_managed_identity_default_asserts_for_the_app_registration() -> None:
    settings = load(
        {
            **BASE,
            "GRAPH_AUTH_MODE": "managed_identity",
            "GRAPH_MANAGED_IDENTITY_CLIENT_ID": "77777777-8888-9999-aaaa-bbbbbbbbbbbb",
        }
    )
    assert isinstance(credential_for(settings, TENANT), FederatedManagedIdentityCredential)
