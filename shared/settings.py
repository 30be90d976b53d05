"""The one settings object: every app setting calsync reads, typed and validated.

Settings come from the environment (Azure app settings; locally the host loads
`local.settings.json` Values into the environment, as Core Tools does). A missing or
invalid setting raises `SettingsError` naming it; nothing here does I/O.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from functools import lru_cache
from typing import Literal
from urllib.parse import urlsplit

AuthMode = Literal["client_secret", "certificate", "managed_identity", "workload_identity", "emulator"]
AUTH_MODES: tuple[AuthMode, ...] = (
    "client_secret",
    "certificate",
    "managed_identity",
    "workload_identity",
    "emulator",
)

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


class SettingsError(ValueError):
    """A setting is missing or invalid. `name` is the setting, `problem` what is wrong."""

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"setting {name}: {problem}")
        self.name = name
        self.problem = problem


@dataclass(frozen=True)
class StorageSettings:
    """Where Table and Queue storage live: a connection string, or endpoints + identity."""

    connection_string: str | None = field(default=None, repr=False)
    table_endpoint: str | None = None
    queue_endpoint: str | None = None
    # User-assigned managed identity for identity-based storage; None = DefaultAzureCredential.
    identity_client_id: str | None = None

    def describe(self) -> dict[str, str | None]:
        """Where storage is, without the account key."""
        if self.connection_string:
            parts = _parse_connection_string(self.connection_string)
            return {
                "mode": "connectionString",
                "account": parts.get("accountname"),
                "tableEndpoint": parts.get("tableendpoint"),
                "queueEndpoint": parts.get("queueendpoint"),
            }
        return {
            "mode": "identity",
            "tableEndpoint": self.table_endpoint,
            "queueEndpoint": self.queue_endpoint,
        }


@dataclass(frozen=True)
class Settings:
    storage: StorageSettings
    graph_base_url: str
    graph_auth_mode: AuthMode
    graph_client_id: str | None
    public_base_url: str
    graph_client_secret: str | None = field(default=None, repr=False)
    graph_certificate_path: str | None = None
    graph_certificate_password: str | None = field(default=None, repr=False)
    managed_identity_client_id: str | None = None
    federated_token_file: str | None = None
    function_key: str | None = field(default=None, repr=False)
    table_prefix: str = "calsync"
    delta_days_back: int = 30
    delta_days_ahead: int = 365
    renew_horizon_hours: int = 24

    @property
    def renew_horizon(self) -> timedelta:
        return timedelta(hours=self.renew_horizon_hours)

    def secrets(self) -> list[str]:
        """Every secret value in effect, so log redaction can scrub them."""
        values = [self.graph_client_secret, self.graph_certificate_password, self.function_key]
        if self.storage.connection_string:
            values.append(_parse_connection_string(self.storage.connection_string).get("accountkey"))
        return [v for v in values if v]

    def describe(self) -> dict[str, object]:
        """The settings in effect, never a secret (for /api/health and start-up logs)."""
        return {
            "storage": self.storage.describe(),
            "graphBaseUrl": self.graph_base_url,
            "graphAuthMode": self.graph_auth_mode,
            "graphClientId": self.graph_client_id,
            "publicBaseUrl": self.public_base_url,
            "tablePrefix": self.table_prefix,
            "functionKeyConfigured": bool(self.function_key),
            "deltaWindowDays": {"back": self.delta_days_back, "ahead": self.delta_days_ahead},
            "renewHorizonHours": self.renew_horizon_hours,
        }


def _parse_connection_string(value: str) -> dict[str, str]:
    parts: dict[str, str] = {}
    for item in value.split(";"):
        if "=" in item:
            key, _, val = item.partition("=")
            parts[key.strip().lower()] = val.strip()
    return parts


def _get(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
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
        parts = _parse_connection_string(conn)
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
    secret = cert = token_file = None
    if mode != "emulator":
        why = f"when GRAPH_AUTH_MODE is {mode}"
        client_id = _require(env, "GRAPH_CLIENT_ID", why)
        if not re.fullmatch(r"[0-9a-fA-F-]{36}", client_id):
            raise SettingsError("GRAPH_CLIENT_ID", "must be the app registration's application (client) id, a GUID")
        if mode == "client_secret":
            secret = _require(env, "GRAPH_CLIENT_SECRET", why)
        elif mode == "certificate":
            cert = _require(env, "GRAPH_CLIENT_CERTIFICATE_PATH", why)
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

    return Settings(
        storage=storage,
        graph_base_url=graph_base_url,
        graph_auth_mode=mode,  # type: ignore[arg-type]
        graph_client_id=client_id,
        public_base_url=public,
        graph_client_secret=secret,
        graph_certificate_path=cert,
        graph_certificate_password=_get(env, "GRAPH_CLIENT_CERTIFICATE_PASSWORD"),
        managed_identity_client_id=_get(env, "GRAPH_MANAGED_IDENTITY_CLIENT_ID"),
        federated_token_file=token_file,
        function_key=_get(env, "CALSYNC_FUNCTION_KEY"),
        table_prefix=prefix,
        delta_days_back=back,
        delta_days_ahead=ahead,
        renew_horizon_hours=horizon,
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, validated once."""
    return load()
