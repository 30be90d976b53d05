"""What the local host reads before it starts: local settings and host.json."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
OVERRIDE_PREFIX = "AzureFunctionsJobHost__"


def load_local_settings(path: Path | None = None) -> Path | None:
    """Put local.settings.json Values into the environment, as Core Tools does.

    Falls back to local.settings.sample.json. Variables already set in the environment
    win, so a test or a shell can override a single value.
    """
    candidates = [path] if path else [ROOT / "local.settings.json", ROOT / "local.settings.sample.json"]
    for candidate in candidates:
        if candidate and candidate.exists():
            values = json.loads(candidate.read_text()).get("Values", {})
            for key, value in values.items():
                if value is None or value == "":
                    continue
                os.environ.setdefault(key, str(value))
            return candidate
    return None


def _timespan(value: str | int | float) -> float:
    """host.json TimeSpan ('hh:mm:ss' or 'd.hh:mm:ss') → seconds."""
    if isinstance(value, (int, float)):
        return float(value)
    m = re.fullmatch(r"(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2}(?:\.\d+)?)", value.strip())
    if not m:
        raise ValueError(f"not a TimeSpan: {value!r}")
    days, hours, minutes, seconds = m.groups()
    return timedelta(
        days=int(days or 0), hours=int(hours), minutes=int(minutes), seconds=float(seconds)
    ).total_seconds()


def _apply_overrides(doc: dict[str, Any], env: dict[str, str]) -> None:
    """App settings named AzureFunctionsJobHost__a__b override host.json a.b (as in Azure)."""
    for key, value in env.items():
        if not key.startswith(OVERRIDE_PREFIX):
            continue
        path = key[len(OVERRIDE_PREFIX) :].split("__")
        node = doc
        for part in path[:-1]:
            match = next((k for k in node if k.lower() == part.lower()), part)
            node = node.setdefault(match, {})
        leaf = next((k for k in node if k.lower() == path[-1].lower()), path[-1])
        node[leaf] = value


@dataclass(frozen=True)
class HostConfig:
    route_prefix: str = "api"
    max_dequeue_count: int = 5
    visibility_timeout_s: float = 0.0
    max_polling_interval_s: float = 2.0
    batch_size: int = 16
    new_batch_threshold: int = 8
    message_encoding: str = "base64"
    function_timeout_s: float | None = None
    # How long a running message stays hidden, renewed at half-time while it runs, as the
    # Functions host does (10 min). A crashed instance stops renewing, so its messages come
    # back after one lease: CALSYNC_HOST_LEASE_SECONDS shortens it for crash tests.
    lease_s: float = 600.0
    # host.json concurrency.dynamicConcurrencyEnabled: queue triggers' concurrency follows the
    # host's health (devtools/host/concurrency.py) instead of batchSize/newBatchThreshold.
    dynamic_concurrency: bool = False


def load_host_config(path: Path | None = None, env: dict[str, str] | None = None) -> HostConfig:
    doc = json.loads((path or ROOT / "host.json").read_text())
    _apply_overrides(doc, dict(os.environ) if env is None else env)
    ext = doc.get("extensions", {})
    http = ext.get("http", {})
    queues = ext.get("queues", {})
    batch = int(queues.get("batchSize", 16))
    timeout = doc.get("functionTimeout")
    return HostConfig(
        route_prefix=str(http.get("routePrefix", "api")).strip("/"),
        max_dequeue_count=int(queues.get("maxDequeueCount", 5)),
        visibility_timeout_s=_timespan(queues.get("visibilityTimeout", "00:00:00")),
        max_polling_interval_s=_timespan(queues.get("maxPollingInterval", "00:01:00")),
        batch_size=batch,
        new_batch_threshold=int(queues.get("newBatchThreshold", batch // 2)),
        message_encoding=str(queues.get("messageEncoding", "base64")).lower(),
        function_timeout_s=_timespan(timeout) if timeout and timeout != "-1" else None,
        lease_s=_lease((os.environ if env is None else env).get("CALSYNC_HOST_LEASE_SECONDS")),
        dynamic_concurrency=_true(doc.get("concurrency", {}).get("dynamicConcurrencyEnabled", False)),
    )


def _true(value: object) -> bool:
    return value is True or str(value).lower() == "true"


def _lease(raw: str | None) -> float:
    try:
        lease = float(raw or 600)
    except ValueError:
        lease = 0
    if lease < 1:
        raise SystemExit(f"setting CALSYNC_HOST_LEASE_SECONDS: must be a number of seconds ≥ 1, got {raw!r}")
    return lease


def resolve(value: str) -> str:
    """Resolve a binding expression `%Setting%` from the environment."""

    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in os.environ:
            raise KeyError(f"binding expression %{name}% names an app setting that is not set")
        return os.environ[name]

    return re.sub(r"%([^%]+)%", sub, value)


def storage_connection(setting: str | None) -> str:
    """The connection string a binding's `connection` names (AzureWebJobsStorage by default)."""
    name = setting or "AzureWebJobsStorage"
    value = os.environ.get(name) or os.environ.get(f"AzureWebJobs{name}")
    if not value:
        raise KeyError(f"connection setting {name} is not set")
    from shared.adapters.settings import AZURITE_CONNECTION_STRING

    return AZURITE_CONNECTION_STRING if value.rstrip(";").lower() == "usedevelopmentstorage=true" else value
