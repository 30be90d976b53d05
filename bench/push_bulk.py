"""Bulk push benchmark: 1,000 appointments to one mailbox under Graph's per-mailbox limits.

    .venv/bin/python -m bench.push_bulk [--appointments 1000]

The emulator is set to 50 ms latency, 4 concurrent requests per mailbox and a budget of
1,000 requests per 30 s (Graph's 10,000 per 10 minutes, scaled). Prints the achieved
request rate as a fraction of that ceiling, the 429s Graph answered, failures and
duplicates (both must be 0), and the Graph requests made per appointment.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime, timedelta

import httpx

from bench.stack import stack

LATENCY_MS, CONCURRENCY, BUDGET, WINDOW_S = 50, 4, 1000, 30


def ideal_seconds(requests: int) -> float:
    """The least time Graph's limits allow for this many requests: 4 in flight at 50 ms each,
    and no more than BUDGET in any window (the last window need not be waited out)."""
    per_second = CONCURRENCY * 1000 / LATENCY_MS
    full_windows = (requests - 1) // BUDGET
    return max(requests / per_second, full_windows * WINDOW_S + (requests - full_windows * BUDGET) / per_second)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--appointments", type=int, default=1000)
    n = parser.parse_args().appointments
    with stack() as s:
        tenant, users = s.tenant([{"userPrincipalName": "pat@bench.test", "displayName": "Pat"}])
        s.api.put("/orgs/bench", json={"m365TenantId": tenant})
        s.api.put("/orgs/bench/workers/pat", json={"m365Account": "pat@bench.test"})
        s.graph.post(
            "/_emulator/faults",
            json={
                "latencyMs": LATENCY_MS,
                "throttle": {"requests": BUDGET, "windowSeconds": WINDOW_S, "concurrency": CONCURRENCY},
            },
        )
        s.graph.delete("/_emulator/requests")
        day = datetime.now(UTC).replace(hour=6, minute=0, second=0, microsecond=0) + timedelta(days=3)
        items = [
            {
                "appointment": f"a{i}",
                "title": f"Booking {i}",
                "timeZone": "UTC",
                "start": (day + timedelta(minutes=10 * i)).isoformat()[:19],
                "end": (day + timedelta(minutes=10 * i + 5)).isoformat()[:19],
            }
            for i in range(n)
        ]
        started = time.perf_counter()
        submitted = s.api.post("/orgs/bench/workers/pat/push-calendar", json={"appointments": items})
        if submitted.status_code != 202:  # e.g. 413 past MAX_APPOINTMENTS (5,000) in one request
            raise SystemExit(f"push-calendar answered {submitted.status_code}: {submitted.text[:500]}")
        job = submitted.json()
        while True:
            view = s.api.get(f"/orgs/bench/jobs/{job['job']}").json()
            if view["state"] == "done":
                break
            time.sleep(0.25)
        elapsed = time.perf_counter() - started
        log = s.graph.get("/_emulator/requests").json()
        mailbox = users["pat@bench.test"]
        s.graph.post("/_emulator/faults", json={"latencyMs": 0, "throttle": {"requests": 10000, "windowSeconds": 600}})
        to_mailbox = sum(i["count"] for i in log["items"] if i["mailbox"] == mailbox)
        answered_ok = sum(v for k, v in log["statuses"].items() if k.startswith("2"))
        with httpx.Client(
            base_url=f"{s.graph_url}/v1.0", headers={"Authorization": f"Bearer emulator:{tenant}"}, timeout=60
        ) as g:
            subjects, link = [], f"/users/{mailbox}/events?$top=1000&$select=subject"
            while link:
                page = g.get(link.replace(f"{s.graph_url}/v1.0", "")).json()
                subjects += [e["subject"] for e in page["value"]]
                link = page.get("@odata.nextLink")
        ceiling = answered_ok / ideal_seconds(answered_ok)
        rate = answered_ok / elapsed
        print(f"appointments          {n}")
        print(f"elapsed               {elapsed:.1f} s")
        print(f"job                   succeeded={view['succeeded']} failed={view['failed']} skipped={view['skipped']}")
        print(
            f"graph requests        {to_mailbox} to the mailbox ({to_mailbox / n:.2f} per appointment), "
            f"{log['total']} in all"
        )
        print(
            f"answered 2xx          {answered_ok} → {rate:.1f} req/s; ceiling {ceiling:.1f} req/s "
            f"({rate / ceiling:.0%} of it)"
        )
        print(f"429 received          {log['statuses'].get('429', 0)}")
        print(f"events in mailbox     {len(subjects)}; duplicates {len(subjects) - len(set(subjects))}")


if __name__ == "__main__":
    main()
