"""Tasks and free/busy benchmark: task pushes to To Do, an idle task round, availability.

    .venv/bin/python -m bench.tasks_availability [--workers 50] [--tasks 500] [--rooms 10]

Reports, through the real local stack (host + Azurite + emulator):
- task PUT latency (p50/p95) and Graph requests per push — first tasks per worker (the list
  is looked up and made) apart from the rest; the same PUTs again (goal: no Graph request);
- an idle reconcile's task rounds: Graph requests per task list (goal: 1, the delta call);
- POST …/availability for every worker and room over a day: latency and getSchedule calls
  per request (the documented 20 schedules per call: ceil(n / 20)).
"""

from __future__ import annotations

import argparse
import re
import statistics
import time
from collections import Counter
from collections.abc import Callable

import httpx

from bench.reconcile import link_workers, pct, wait_quiet
from bench.stack import KEY, BenchStack, stack
from devtools.services import ROOT


def requests_total(s: BenchStack) -> int:
    return s.graph.get("/_emulator/requests").json()["total"]


def timed(calls: list[Callable[[], httpx.Response]]) -> tuple[list[float], list[int]]:
    latencies, statuses = [], []
    for call in calls:
        started = time.perf_counter()
        r = call()
        latencies.append((time.perf_counter() - started) * 1000)
        statuses.append(r.status_code)
    return latencies, statuses


def report(name: str, latencies: list[float], statuses: list[int], graph: int) -> None:
    ok = sum(1 for st in statuses if st == 200)
    p50, p95, per = statistics.median(latencies), pct(latencies, 0.95), graph / max(1, len(latencies))
    print(
        f"{name:<28} n={len(latencies):<5} p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  200s {ok}/{len(statuses)}"
        f"  Graph requests {graph} ({per:.2f} per call)"
    )


HOST_LOG = ROOT / ".run" / "bench-host.log"


def executions() -> Counter[str]:
    """Function executions so far, from the host's log (`Executed 'Functions.<name>'`)."""
    return Counter(re.findall(r"Executed 'Functions\.(\w+)'", HOST_LOG.read_text(errors="replace")))


def reconcile_once(s: BenchStack, label: str, workers: int, rooms: int) -> None:
    wait_quiet(s.graph, s=s)
    s.graph.delete("/_emulator/requests")
    ran_before = executions()
    started = time.perf_counter()
    httpx.post(f"{s.app_url}/admin/functions/reconcile", json={"input": ""}, headers={"x-functions-key": KEY})
    time.sleep(0.5)  # the timer's message is on its way; then wait for the rounds to drain
    while any(s.queue_depth(q) for q in ("org-reconcile", "task-round-batches", "task-rounds", "mailbox-sync-batch")):
        time.sleep(0.1)
    elapsed = time.perf_counter() - started
    total = wait_quiet(s.graph)
    items = s.graph.get("/_emulator/requests").json()["items"]
    deltas = sum(i["count"] for i in items if "todo" in i["pattern"] and "delta" in i["pattern"])
    ran = executions() - ran_before
    tasks = {name: n for name, n in ran.items() if name.startswith("task_round")}
    print(
        f"{label:<28} {workers} task lists + {workers + rooms} mailboxes in {elapsed:.1f} s; "
        f"Graph requests {total}, To Do delta calls {deltas} ({deltas / workers:.2f} per list); "
        f"task-round executions {tasks}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=50)
    parser.add_argument("--tasks", type=int, default=500)
    parser.add_argument("--rooms", type=int, default=10)
    args = parser.parse_args()
    with stack() as s:
        users = [{"userPrincipalName": f"u{i:05}@bench.test", "displayName": f"User {i}"} for i in range(args.workers)]
        users += [
            {"userPrincipalName": f"room{i}@bench.test", "displayName": f"Room {i}", "userPurpose": "room"}
            for i in range(args.rooms)
        ]
        tenant, _ = s.tenant(users)
        s.api.put("/orgs/bench", json={"m365TenantId": tenant}).raise_for_status()
        link_workers(s, args.workers)
        for i in range(args.rooms):
            s.api.put(f"/orgs/bench/resources/r{i}", json={"mailbox": f"room{i}@bench.test"}).raise_for_status()
        wait_quiet(s.graph, s=s)

        def push(n: int, title: str) -> Callable[[], httpx.Response]:
            body = {"worker": f"w{n % args.workers:05}", "title": title, "dueDate": "2027-01-15", "importance": "high"}
            return lambda: s.api.put(f"/orgs/bench/tasks/t{n:06}", json=body)

        firsts = [push(n, f"Task {n}") for n in range(args.workers)]
        rest = [push(n, f"Task {n}") for n in range(args.workers, args.tasks)]
        before = requests_total(s)
        lat, st = timed(firsts)
        report("first task per worker", lat, st, requests_total(s) - before)
        before = requests_total(s)
        lat, st = timed(rest)
        report("later tasks", lat, st, requests_total(s) - before)
        before = requests_total(s)
        lat, st = timed([push(n, f"Task {n}") for n in range(args.tasks)])
        report("the same PUTs again", lat, st, requests_total(s) - before)

        for label in ("first reconcile", "idle reconcile"):  # the first reads each list's delta afresh
            reconcile_once(s, label, args.workers, args.rooms)

        day = {"start": "2027-01-15T00:00:00", "end": "2027-01-16T00:00:00", "timeZone": "Europe/Berlin"}
        ask = {
            **day,
            "workers": [f"w{i:05}" for i in range(args.workers)],
            "resources": [f"r{i}" for i in range(args.rooms)],
            "intervalMinutes": 30,
        }
        before = requests_total(s)
        lat, st = timed([lambda: s.api.post("/orgs/bench/availability", json=ask) for _ in range(10)])
        report(f"availability ({args.workers + args.rooms} schedules)", lat, st, requests_total(s) - before)


if __name__ == "__main__":
    main()
