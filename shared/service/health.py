"""Health of a deployment: can we reach storage, and which settings are in effect."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from shared.adapters.records import LINK_CLASSES
from shared.core.link_health import HEALTH_RANK, health
from shared.service.orgs import require_org
from shared.service.ports import Services

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


async def org_health(services: Services, org_id: str) -> dict[str, object]:
    """Counts of links per health state and the worst links first: what is wrong, since when."""
    org = await require_org(services, org_id)
    counts = {"healthy": 0, "pending": 0, "stale": 0, "attention": 0, "error": 0}
    worst: list[tuple[int, dict[str, object]]] = []
    now = services.clock.now()
    for cls in LINK_CLASSES.values():
        async for link in services.store.query(cls, org=org_id, filter="status ne @s", parameters={"s": "unlinked"}):
            state = health(link, now)
            if state is None:
                continue
            counts[state] += 1
            if state in HEALTH_RANK:
                worst.append(
                    (
                        HEALTH_RANK[state],
                        {
                            link.KIND: link.owner_id,
                            "account": link.account,
                            "health": state,
                            "error": {"code": link.error_code, "message": link.error_message}
                            if state == "error"
                            else None,
                            "attention": link.attention,
                            "lastSyncAt": link.last_sync_at,
                            "subscriptionExpiresAt": link.subscription_expires_at,
                            "since": link.updated_at,
                        },
                    )
                )
    worst.sort(key=lambda item: item[0])
    return {"org": org.org, "status": org.status, "links": counts, "worst": [w for _, w in worst[:20]]}
