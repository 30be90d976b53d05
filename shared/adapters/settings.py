"""The app settings from the environment: every value calsync reads, validated.

The typed object is `shared.core.settings.Settings`. Settings come from the environment
(Azure app settings; locally the host loads `local.settings.json` Values into the
environment, as Core Tools does). A missing or invalid setting raises `SettingsError`
naming it; nothing here does I/O but reading host.json.
"""

from __future__ import annotations

import base64
import json
import os
import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from shared.core.delta_window import MAX_WINDOW_DAYS, ROLL_SLACK
from shared.core.errors import SettingsError
from shared.core.settings import AUTH_MODES, Settings, StorageSettings, parse_connection_string

# Azurite's well-known development account (public, documented by Microsoft).
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
AZURITE_CONNECTION_STRING = (
    "DefaultEndpointsProtocol=http;"
    f"AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
    "BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;"
    "QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1;"
    "TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;"
)

DEFAULT_GRAPH_BASE_URL = "https://graph.microsoft.com/v1.0"
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


def _get(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    if value and value.strip().startswith("@Microsoft.KeyVault("):
        # App Service leaves a reference it could not resolve as its literal text.
        raise SettingsError(
            name,
            "is a Key Vault reference the platform could not resolve: check that the secret exists and "
            "that the app's identity (keyVaultReferenceIdentity) has Key Vault Secrets User on the vault",
        )
    return value.strip() if value and value.strip() else None


def _require(env: Mapping[str, str], name: str, why: str) -> str:
    value = _get(env, name)
    if value is None:
        raise SettingsError(name, f"is required {why}")
    return value


def _url(name: str, value: str, *, allow_http_locally: bool) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SettingsError(name, f"must be an absolute http(s) URL, got {value!r}")
    if parts.scheme == "http" and not (allow_http_locally and parts.hostname in _LOCAL_HOSTS):
        raise SettingsError(name, "must use https (plain http is allowed only for localhost)")
    return value.rstrip("/")


def _storage(env: Mapping[str, str]) -> StorageSettings:
    conn = _get(env, "AzureWebJobsStorage")
    if conn:
        if conn.rstrip(";").lower() == "usedevelopmentstorage=true":
            # The SDKs accept only the exact short form; expand it once here.
            conn = AZURITE_CONNECTION_STRING
        parts = parse_connection_string(conn)
        if not parts:
            raise SettingsError("AzureWebJobsStorage", "is not a storage connection string")
        has_endpoints = "tableendpoint" in parts or "accountname" in parts
        if not has_endpoints:
            raise SettingsError("AzureWebJobsStorage", "names no account or table endpoint")
        return StorageSettings(connection_string=conn)
    account = _get(env, "AzureWebJobsStorage__accountName")
    table = _get(env, "AzureWebJobsStorage__tableServiceUri")
    queue = _get(env, "AzureWebJobsStorage__queueServiceUri")
    if account:
        if not re.fullmatch(r"[a-z0-9]{3,24}", account):
            raise SettingsError("AzureWebJobsStorage__accountName", "must be 3-24 lowercase letters or digits")
        table = table or f"https://{account}.table.core.windows.net"
        queue = queue or f"https://{account}.queue.core.windows.net"
    if not table or not queue:
        raise SettingsError(
            "AzureWebJobsStorage",
            "is required: a connection string, or AzureWebJobsStorage__accountName "
            "(or __tableServiceUri and __queueServiceUri) for identity-based access",
        )
    return StorageSettings(
        table_endpoint=_url("AzureWebJobsStorage__tableServiceUri", table, allow_http_locally=True),
        queue_endpoint=_url("AzureWebJobsStorage__queueServiceUri", queue, allow_http_locally=True),
        identity_client_id=_get(env, "AzureWebJobsStorage__clientId"),
    )


def certificate_bytes(value: str) -> bytes:
    """GRAPH_CLIENT_CERTIFICATE as azure-identity wants it: PEM text as is; otherwise the
    base64 PKCS#12 that a Key Vault reference to a certificate's secret gives."""
    if "-----BEGIN" in value:
        return value.encode()
    return base64.b64decode(value, validate=True)


def _certificate(env: Mapping[str, str]) -> str | None:
    """GRAPH_CLIENT_CERTIFICATE, loaded once here so that a wrong one stops start-up rather
    than the first Graph call: a certificate with its RSA private key (azure-identity signs
    its assertions RS256), PEM or base64 PKCS#12."""
    value = _get(env, "GRAPH_CLIENT_CERTIFICATE")
    if value is None:
        return None
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import load_pem_private_key, pkcs12

    raw = _get(env, "GRAPH_CLIENT_CERTIFICATE_PASSWORD")
    password = raw.encode() if raw else None
    try:
        data = certificate_bytes(value)
        if data.startswith(b"-----BEGIN"):
            key, cert = load_pem_private_key(data, password), x509.load_pem_x509_certificate(data)
        else:
            key, cert, _ = pkcs12.load_key_and_certificates(data, password)
    except (ValueError, TypeError) as exc:
        raise SettingsError(
            "GRAPH_CLIENT_CERTIFICATE",
            f"must be PEM text or base64 PKCS#12 that GRAPH_CLIENT_CERTIFICATE_PASSWORD opens ({type(exc).__name__})",
        ) from None
    if cert is None or not isinstance(key, rsa.RSAPrivateKey):
        raise SettingsError("GRAPH_CLIENT_CERTIFICATE", "must hold a certificate and its RSA private key")
    return value


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = _get(env, name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(name, f"must be a whole number, got {raw!r}") from None
    if not low <= value <= high:
        raise SettingsError(name, f"must be between {low} and {high}")
    return value


def load(env: Mapping[str, str] | None = None) -> Settings:
    """Build and validate the settings from `env` (default: the process environment)."""
    env = os.environ if env is None else env
    storage = _storage(env)

    graph_base_url = _url(
        "GRAPH_BASE_URL", _get(env, "GRAPH_BASE_URL") or DEFAULT_GRAPH_BASE_URL, allow_http_locally=True
    )
    mode = _get(env, "GRAPH_AUTH_MODE") or "client_secret"
    if mode not in AUTH_MODES:
        raise SettingsError("GRAPH_AUTH_MODE", f"must be one of {', '.join(AUTH_MODES)}; got {mode!r}")

    client_id = _get(env, "GRAPH_CLIENT_ID")
    secret = cert = cert_data = token_file = None
    if mode != "emulator":
        why = f"when GRAPH_AUTH_MODE is {mode}"
        client_id = _require(env, "GRAPH_CLIENT_ID", why)
        if not re.fullmatch(r"[0-9a-fA-F-]{36}", client_id):
            raise SettingsError("GRAPH_CLIENT_ID", "must be the app registration's application (client) id, a GUID")
        if mode == "client_secret":
            secret = _require(env, "GRAPH_CLIENT_SECRET", why)
        elif mode == "certificate":
            cert_data = _certificate(env)
            if cert_data is None:
                cert = _require(env, "GRAPH_CLIENT_CERTIFICATE_PATH", f"{why} (or GRAPH_CLIENT_CERTIFICATE)")
        elif mode == "workload_identity":
            token_file = _require(env, "AZURE_FEDERATED_TOKEN_FILE", why)
    elif urlsplit(graph_base_url).hostname not in _LOCAL_HOSTS:
        raise SettingsError("GRAPH_AUTH_MODE", "emulator mode needs GRAPH_BASE_URL on localhost")

    public = _url(
        "CALSYNC_PUBLIC_BASE_URL",
        _require(
            env, "CALSYNC_PUBLIC_BASE_URL", "(the base URL Graph calls back, e.g. https://<app>.azurewebsites.net)"
        ),
        allow_http_locally=mode == "emulator",
    )
    prefix = _get(env, "CALSYNC_TABLE_PREFIX") or "calsync"
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9]{0,39}", prefix):
        raise SettingsError("CALSYNC_TABLE_PREFIX", "must be a letter followed by up to 39 letters or digits")

    back = _int(env, "CALSYNC_DELTA_DAYS_BACK", 30, 0, 3650)
    horizon = _int(env, "CALSYNC_RENEW_HORIZON_HOURS", 24, 1, 70)
    ahead = _int(env, "CALSYNC_DELTA_DAYS_AHEAD", 365, 1, 3650)
    # calendarView refuses a window over 1,825 days; ours reaches ROLL_SLACK further ahead.
    widest = MAX_WINDOW_DAYS - ROLL_SLACK.days
    if back + ahead > widest:
        raise SettingsError(
            "CALSYNC_DELTA_DAYS_AHEAD",
            f"with CALSYNC_DELTA_DAYS_BACK the window may span at most {widest} days "
            f"(Graph's calendarView limit of {MAX_WINDOW_DAYS}, less {ROLL_SLACK.days} days of roll-over slack); "
            f"{back} + {ahead} = {back + ahead}",
        )

    return Settings(
        max_dequeue_count=_max_dequeue(env),
        storage=storage,
        graph_base_url=graph_base_url,
        graph_auth_mode=mode,  # type: ignore[arg-type]
        graph_client_id=client_id,
        public_base_url=public,
        graph_client_secret=secret,
        graph_certificate_path=cert,
        graph_certificate=cert_data,
        graph_certificate_password=_get(env, "GRAPH_CLIENT_CERTIFICATE_PASSWORD"),
        managed_identity_client_id=_get(env, "GRAPH_MANAGED_IDENTITY_CLIENT_ID"),
        federated_token_file=token_file,
        function_key=_get(env, "CALSYNC_FUNCTION_KEY"),
        table_prefix=prefix,
        delta_days_back=back,
        delta_days_ahead=ahead,
        renew_horizon_hours=horizon,
    )


HOST_JSON = Path(__file__).resolve().parents[2] / "host.json"
_DEQUEUE_OVERRIDE = "AzureFunctionsJobHost__extensions__queues__maxDequeueCount"


def _max_dequeue(env: Mapping[str, str]) -> int:
    """host.json's queues.maxDequeueCount, as the Functions host applies it (an app setting
    AzureFunctionsJobHost__… overrides it; the host's default is 5)."""
    override = _get(env, _DEQUEUE_OVERRIDE)
    if override is not None:
        return _int(env, _DEQUEUE_OVERRIDE, 5, 1, 1000)
    try:
        host = json.loads(HOST_JSON.read_text())
    except (OSError, ValueError):
        return 5
    return int(((host.get("extensions") or {}).get("queues") or {}).get("maxDequeueCount", 5))


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, validated once."""
    return load()
