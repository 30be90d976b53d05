"""The typed app settings: what calsync reads from its environment, as one frozen object.

`shared.adapters.settings.load` builds it from the environment and validates every value;
this module only declares the shape (and says what is safe to show)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal

AuthMode = Literal["client_secret", "certificate", "managed_identity", "workload_identity", "emulator"]
AUTH_MODES: tuple[AuthMode, ...] = (
    "client_secret",
    "certificate",
    "managed_identity",
    "workload_identity",
    "emulator",
)


def parse_connection_string(value: str) -> dict[str, str]:
    parts: dict[str, str] = {}
    for item in value.split(";"):
        if "=" in item:
            key, _, val = item.partition("=")
            parts[key.strip().lower()] = val.strip()
    return parts


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
            parts = parse_connection_string(self.connection_string)
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
    # The certificate itself (PEM, or base64 PKCS#12 as Key Vault gives a certificate's
    # secret): in Azure a Key Vault reference, since Flex cannot load certificates.
    graph_certificate: str | None = field(default=None, repr=False)
    graph_certificate_password: str | None = field(default=None, repr=False)
    managed_identity_client_id: str | None = None
    federated_token_file: str | None = None
    function_key: str | None = field(default=None, repr=False)
    table_prefix: str = "calsync"
    delta_days_back: int = 30
    delta_days_ahead: int = 365
    renew_horizon_hours: int = 24
    # host.json extensions.queues.maxDequeueCount (or its AzureFunctionsJobHost__ override):
    # the try after which a queue worker settles instead of raising for another retry.
    max_dequeue_count: int = 5

    @property
    def development(self) -> bool:
        """Running against the Graph emulator: plain-http loopback URLs are accepted."""
        return self.graph_auth_mode == "emulator"

    @property
    def renew_horizon(self) -> timedelta:
        return timedelta(hours=self.renew_horizon_hours)

    def secrets(self) -> list[str]:
        """Every secret value in effect, so log redaction can scrub them."""
        values = [self.graph_client_secret, self.graph_certificate_password, self.function_key, self.graph_certificate]
        if self.storage.connection_string:
            values.append(parse_connection_string(self.storage.connection_string).get("accountkey"))
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
