"""Inbound benchmark: notification ack latency at steady rates, and Outlook edit → feed latency.

    .venv/bin/python -m bench.inbound [--rates 100,300,500] [--seconds 3] [--edits 20]

1. Fires valid change notifications (a real delivery captured from the emulator) at the
   local host's /api/graph/notifications at each rate and reports the ack latency p50/p99
   (Graph wants well under 3 s; it marks an endpoint slow past 10 s).
2. Makes Outlook-side edits in the emulator (plain Graph PATCHes by another client) one at a
   time and reports how long each takes to appear in the change feed, p50/p95.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from datetime import UTC, datetime, timedelta

import httpx

from bench.stack import stack


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def fire(url: str, body: dict, rate: int, seconds: float) -> tuple[list[float], int]:
    latencies: list[float] = []
    failures = 0
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=200)) as client:

        async def one() -> None:
            nonlocal failures
            started = time.perf_counter()
            r = await client.post(url, json=body)
            latencies.append((time.perf_counter() - started) * 1000)
            failures += r.status_code != 202

        tasks = []
        start = time.perf_counter()
        for i in range(int(rate * seconds)):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one()))
        await asyncio.gather(*tasks)
    return latencies, failures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rates", default="100,300,500")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--edits", type=int, default=20)
    args = parser.parse_args()
    with stack() as s:
        tenant, users = s.tenant([{"userPrincipalName": "pat@bench.test", "displayName": "Pat"}])
        s.api.put("/orgs/bench", json={"m365TenantId": tenant})
        s.api.put("/orgs/bench/workers/pat", json={"m365Account": "pat@bench.test"})
        day = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%d")
        event = s.api.put(
            "/orgs/bench/appointments/a1",
            json={
                "title": "Bench",
                "start": f"{day}T10:00:00",
                "end": f"{day}T11:00:00",
                "timeZone": "UTC",
                "organizer": "pat",
            },
        ).json()["targets"][0]["eventId"]
        time.sleep(2)
        mailbox = users["pat@bench.test"]
        deliveries = s.graph.get("/_emulator/deliveries").json()["deliveries"]
        body = next(d["body"] for d in deliveries if d["kind"] == "notification")
        url = f"{s.app_url}/api/graph/notifications"
        print("notification acks (POST /api/graph/notifications → 202)")
        for rate in (int(r) for r in args.rates.split(",")):
            started = time.perf_counter()
            latencies, failures = asyncio.run(fire(url, body, rate, args.seconds))
            took = time.perf_counter() - started
            print(
                f"  {rate:4d}/s for {args.seconds:.0f} s: sent {len(latencies)} in {took:.1f} s "
                f"({len(latencies) / took:.0f}/s achieved), p50 {pct(latencies, 0.5):.1f} ms, "
                f"p99 {pct(latencies, 0.99):.1f} ms, non-202 {failures}"
            )
        time.sleep(3)  # let the queue drain the rounds those notifications asked for
        after = s.api.get("/orgs/bench/changes", params={"limit": 500}).json()["next"]
        lags: list[float] = []
        with s.graph_as(tenant) as g:
            for i in range(args.edits):
                started = time.perf_counter()
                g.patch(f"/users/{mailbox}/events/{event}", json={"subject": f"Edited {i}"})
                while True:
                    page = s.api.get("/orgs/bench/changes", params={"after": after, "limit": 500}).json()
                    if any(c["data"].get("title") == f"Edited {i}" for c in page["changes"]):
                        lags.append(time.perf_counter() - started)
                        after = page["next"]
                        break
                    if time.perf_counter() - started > 60:
                        print(f"  edit {i} never arrived")
                        break
                    time.sleep(0.05)
        print(
            f"Outlook edit → change feed ({len(lags)} edits): p50 {statistics.median(lags):.2f} s, "
            f"p95 {pct(lags, 0.95):.2f} s, max {max(lags):.2f} s"
        )


if __name__ == "__main__":
    main()
