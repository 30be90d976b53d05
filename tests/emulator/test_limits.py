"""Contract: $batch, throttling (429 + Retry-After), injected faults and the request log.

Every test names the documentation it checks (paths in microsoftgraph/microsoft-graph-docs-contrib,
or a section of ../shared/GRAPH-FACTS.md), or says where the docs are silent and the emulator chose.
"""

from __future__ import annotations

import asyncio

from msgraph_core.requests.batch_request_content import BatchRequestContent
from msgraph_core.requests.batch_request_item import BatchRequestItem

from tests.emulator.conftest import Tenant
from tests.emulator.test_events import event


async def test_batch_through_the_sdk(tenant: Tenant) -> None:
    # concepts/json-batching.md: POST /$batch, each response with its own id and status, the
    # envelope 200. The msgraph-core parsing gap is GRAPH-FACTS §7.5.
    client = tenant.client()
    events = client.users.by_user_id(tenant.uid("ada")).events
    content = BatchRequestContent()
    for i in range(3):
        info = events.to_post_request_information(event(f"batched {i}", i))
        content.add_request(None, BatchRequestItem(info, id=str(i + 1)))
    missing = client.users.by_user_id(tenant.uid("ada")).events.by_event_id("AAMkAGnope=").to_get_request_information()
    content.add_request(None, BatchRequestItem(missing, id="4"))
    result = await client.batch.post(content)
    assert result.get_response_status_codes() == {"1": 201, "2": 201, "3": 201, "4": 404}
    # msgraph-core reads an item's "body" as Base64 bytes, but Graph (and so the emulator)
    # answers JSON items with a JSON object: typed parsing of batch bodies fails against
    # the documented shape. calsync reads $batch answers as raw JSON instead.
    assert result.get_response_by_id("2").status == 201
    listed = await events.get()
    assert sorted(e.subject for e in listed.value) == ["batched 0", "batched 1", "batched 2"]


async def test_batch_limits_and_depends_on(tenant: Tenant) -> None:
    # concepts/json-batching.md: at most 20 requests; ids unique (else 400); a request whose
    # dependsOn failed gets 424.
    ada = tenant.uid("ada")
    body = {"requests": [{"id": str(i), "method": "GET", "url": f"/users/{ada}/events"} for i in range(21)]}
    async with tenant.raw() as raw:
        r = await raw.post("/$batch", json=body)
        assert r.status_code == 400
        dup = {"requests": [{"id": "1", "method": "GET", "url": "/users"}] * 2}
        assert (await raw.post("/$batch", json=dup)).status_code == 400
        chain = {
            "requests": [
                {"id": "1", "method": "GET", "url": f"/users/{ada}/events/AAMkAGmissing="},
                {
                    "id": "2",
                    "method": "POST",
                    "url": f"/users/{ada}/events",
                    "dependsOn": ["1"],
                    "headers": {"Content-Type": "application/json"},
                    "body": {
                        "subject": "never",
                        "start": {"dateTime": "2026-12-01T10:00:00", "timeZone": "UTC"},
                        "end": {"dateTime": "2026-12-01T11:00:00", "timeZone": "UTC"},
                    },
                },
            ]
        }
        r = await raw.post("/$batch", json=chain)
        assert r.status_code == 200
        statuses = {x["id"]: x["status"] for x in r.json()["responses"]}
        assert statuses == {"1": 404, "2": 424}


async def test_more_than_four_concurrent_requests_per_mailbox_get_429(tenant: Tenant) -> None:
    # concepts/throttling-limits.md, Outlook service limits: 4 concurrent requests per app and
    # mailbox; another mailbox is not affected; concepts/throttling.md: 429 with Retry-After.
    # The code ApplicationThrottled and its message: as Exchange sends (docs silent).
    await tenant.control.post("/_emulator/faults", json={"latencyMs": 300})
    try:
        async with tenant.raw() as raw:
            ada = tenant.uid("ada")
            replies = await asyncio.gather(*(raw.get(f"/users/{ada}/events") for _ in range(8)))
            bob = await raw.get(f"/users/{tenant.uid('bob')}/events")  # another mailbox is not affected
    finally:
        await tenant.control.post("/_emulator/faults", json={"latencyMs": 0})
    codes = sorted(r.status_code for r in replies)
    assert codes.count(200) == 4 and codes.count(429) == 4
    throttled = next(r for r in replies if r.status_code == 429)
    assert throttled.headers["Retry-After"].isdigit()
    assert throttled.json()["error"]["code"] == "ApplicationThrottled"
    assert bob.status_code == 200


async def test_request_budget_per_window(tenant: Tenant) -> None:
    # concepts/throttling-limits.md: 10,000 requests per 10 minutes per app and mailbox (made
    # smaller here by the control API); Retry-After until the window resets (fixed windows:
    # emulator choice).
    await tenant.control.post("/_emulator/faults", json={"throttle": {"requests": 5, "windowSeconds": 30}})
    try:
        async with tenant.raw() as raw:
            codes = [(await raw.get(f"/users/{tenant.uid('ada')}/events")).status_code for _ in range(6)]
            last = await raw.get(f"/users/{tenant.uid('ada')}/events")
    finally:
        await tenant.control.post("/_emulator/faults", json={"throttle": {"requests": 10000, "windowSeconds": 600}})
    assert codes == [200] * 5 + [429]
    assert 1 <= int(last.headers["Retry-After"]) <= 30


async def test_sdk_retries_a_429_after_retry_after(tenant: Tenant) -> None:
    # concepts/throttling.md: wait Retry-After, then retry; the SDK's RetryHandler does
    # (GRAPH-FACTS §7.4). failNext is the control API.
    await tenant.control.post(
        "/_emulator/faults",
        json={
            "failNext": [{"method": "GET", "pattern": "/users/{id}/events", "status": 429, "retryAfter": 1, "count": 1}]
        },
    )
    listed = await tenant.client().users.by_user_id(tenant.uid("ada")).events.get()
    assert listed.value == []
    log = (await tenant.control.get("/_emulator/requests")).json()
    assert next(i["count"] for i in log["items"] if i["pattern"] == "/users/{id}/events") == 2


async def test_error_rate_and_fail_after_apply(tenant: Tenant) -> None:
    # concepts/errors.md: 503 "The service is temporarily unavailable … a Retry-After header".
    # errorRate and afterApply are the control API (emulator choice: a request carried out
    # whose answer is lost, which Graph can do to a client but does not document).
    async with tenant.raw() as raw:
        await tenant.control.post("/_emulator/faults", json={"errorRate": 1.0})
        r = await raw.get(f"/users/{tenant.uid('ada')}/events")
        await tenant.control.post("/_emulator/faults", json={"errorRate": 0.0})
        assert r.status_code == 503 and r.json()["error"]["code"] == "ServiceUnavailable"
        # The create is applied but its answer is lost: what a crashed client would see.
        await tenant.control.post(
            "/_emulator/faults",
            json={"failNext": [{"method": "POST", "pattern": "/users/{id}/events", "status": 503, "afterApply": True}]},
        )
        body = {
            "subject": "lost answer",
            "start": {"dateTime": "2026-12-01T10:00:00", "timeZone": "UTC"},
            "end": {"dateTime": "2026-12-01T11:00:00", "timeZone": "UTC"},
        }
        r = await raw.post(f"/users/{tenant.uid('ada')}/events", json=body)
        assert r.status_code == 503
        listed = await raw.get(f"/users/{tenant.uid('ada')}/events")
        assert [e["subject"] for e in listed.json()["value"]] == ["lost answer"]


async def test_request_log_counts_by_pattern_and_mailbox(tenant: Tenant) -> None:
    # Control API only (emulator choice): no Graph behaviour is checked here.
    await tenant.control.delete("/_emulator/requests")
    client = tenant.client()
    for _ in range(3):
        await client.users.by_user_id(tenant.uid("bob")).events.get()
    await client.users.by_user_id("ada@fabrikam.test").get()
    log = (await tenant.control.get("/_emulator/requests")).json()
    assert log["total"] == 4
    assert {"method": "GET", "pattern": "/users/{id}/events", "mailbox": tenant.uid("bob"), "count": 3} in log["items"]
    assert {"method": "GET", "pattern": "/users/{id}", "mailbox": tenant.uid("ada"), "count": 1} in log["items"]
