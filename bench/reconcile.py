"""Reconcile benchmark: 1,000 linked mailboxes, nothing changed, one reconcile run.

    .venv/bin/python -m bench.reconcile [--mailboxes 1000]

Reports the Graph requests per mailbox (target: 1, the delta call), the time until every
mailbox's round is done, and the run time of the timer function itself and of the org
fan-out worker (from the host's invocation log).
"""

from __future__ import annotations

import argparse
import re
import time

import httpx

from bench.stack import KEY, stack
from devtools.services import ROOT

LOG = ROOT / ".run" / "bench-host.log"


def durations(name: str, since: int) -> list[float]:
    text = LOG.read_text()[since:]
    return [float(ms) for ms in re.findall(rf"Executed 'Functions\.{name}' \(Succeeded.*?Duration=(\d+)ms", text)]


def wait_quiet(graph: httpx.Client, settle_s: float = 2.0, timeout_s: float = 600) -> int:
    """Wait until the emulator has seen no new request for settle_s; the total so far."""
    deadline = time.monotonic() + timeout_s
    last, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        total = graph.get("/_emulator/requests").json()["total"]
        if total != last:
            last, since = total, time.monotonic()
        elif time.monotonic() - since > settle_s:
            return total
        time.sleep(0.2)
    return last


def delta_calls(graph: httpx.Client) -> int:
    items = graph.get("/_emulator/requests").json()["items"]
    return sum(i["count"] for i in items if i["pattern"] == "/users/{id}/calendarView/delta")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mailboxes", type=int, default=1000)
    n = parser.parse_args().mailboxes
    LOG.parent.mkdir(exist_ok=True)
    LOG.write_text("")
    with stack() as s:
        users = [{"userPrincipalName": f"u{i:05}@bench.test", "displayName": f"User {i}"} for i in range(n)]
        tenant, _ = s.tenant(users)
        s.api.put("/orgs/bench", json={"m365TenantId": tenant})
        started = time.perf_counter()
        rows = "worker,m365Account\n" + "\n".join(f"w{i:05},u{i:05}@bench.test" for i in range(n))
        linked = s.api.post(
            "/orgs/bench/workers/batch-link", content=rows, headers={"Content-Type": "text/csv"}
        ).json()["totals"]["linked"]
        print(f"linked                {linked} mailboxes in {time.perf_counter() - started:.1f} s")
        wait_quiet(s.graph)  # the baseline round every new link starts
        s.graph.delete("/_emulator/requests")
        mark = len(LOG.read_text())
        started = time.perf_counter()
        httpx.post(f"{s.app_url}/admin/functions/reconcile", json={"input": ""}, headers={"x-functions-key": KEY})
        while delta_calls(s.graph) < n and time.perf_counter() - started < 600:
            time.sleep(0.1)
        elapsed = time.perf_counter() - started
        total = wait_quiet(s.graph)  # anything after the last round would show up here
        delta = delta_calls(s.graph)
        per_org = total - delta
        print(f"reconcile             {n} mailboxes in {elapsed:.1f} s (timer fired → last round's delta call)")
        print(
            f"graph requests        {total} in all: {delta} delta calls ({delta / n:.3f} per mailbox) "
            f"+ {per_org} per org (subscription list for orphans)"
        )
        print(f"per mailbox, all in   {total / n:.3f}")
        print(f"timer function        {durations('reconcile', mark)} ms")
        print(f"org fan-out worker    {durations('reconcile_org', mark)} ms")


if __name__ == "__main__":
    main()
