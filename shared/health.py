"""Health of a deployment: can we reach storage, and which settings are in effect."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from shared.bootstrap import Services

CHECK_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class HealthReport:
    healthy: bool
    checks: dict[str, dict[str, str]]
    settings: dict[str, object]


async def _probe(name: str, probe) -> tuple[str, dict[str, str]]:
    try:
        await asyncio.wait_for(probe(), CHECK_TIMEOUT_S)
    except Exception as exc:  # any failure means unhealthy; the reason is reported, not raised
        reason = type(exc).__name__ if isinstance(exc, TimeoutError) else f"{type(exc).__name__}: {exc}"
        return name, {"status": "unreachable", "reason": reason.splitlines()[0][:300]}
    return name, {"status": "ok"}


async def check(services: Services) -> HealthReport:
    results = await asyncio.gather(
        _probe("tables", services.store.ping),
        _probe("queues", services.queues.ping),
    )
    checks = dict(results)
    return HealthReport(
        healthy=all(c["status"] == "ok" for c in checks.values()),
        checks=checks,
        settings=services.settings.describe(),
    )
