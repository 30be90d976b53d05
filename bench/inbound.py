"""Inbound benchmark: notification ack latency at steady rates, and Outlook edit → feed latency.

    .venv/bin/python -m bench.inbound [--mailboxes 1,1000] [--rates 100,300,500] [--seconds 3]
                                      [--ceiling] [--edits 20]

1. Fires valid change notifications at one local host's /api/graph/notifications at each
   rate and reports, per rate, what was sent, the achieved rate (and its ratio to the offered
   one), the ack latency p50/p99 and the non-2xx answers. Graph wants well under 3 s and marks
   an endpoint slow past 10 s; the goal is 500/s with p99 < 50 ms and 0 non-2xx in both modes:
   - one mailbox: a real delivery captured from the emulator, sent again and again;
   - N mailboxes (default 1,000, the realistic rush): N linked workers, one notification body
     per mailbox built from its subscription (same keys as the real delivery), sent
     round-robin over the mailboxes.
   By default both modes run (1, then 1000). Latency is taken from the instant each POST was
   due, so a sender or server that falls behind shows up in it. `--ceiling` then keeps
   raising the rate (×1.25) until p99 passes 1 s or a non-2xx appears, and prints the last
   rate under 1 s as the ceiling.
   After each rate the bench waits until the mailbox-sync queue is empty and the host's
   sync_mailbox executions stop growing, and reports the delta rounds those notifications
   cost (the emulator's delta calls: coalescing should keep it far below 1 per notification
   in one-mailbox mode) and the sync_mailbox executions (one per queued message).
2. Makes Outlook-side edits in the emulator (plain Graph PATCHes by another client) one at a
   time and reports how long each takes to appear in the change feed, p50/p95.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import math
import re
import statistics
import subprocess
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bench import loadgen
from bench.reconcile import LOG, delta_calls, executions, link_workers, log_mark, wait_quiet
from bench.stack import BenchStack, stack

GOAL_RATE, GOAL_P99_MS = 500, 50.0
CEILING_P99_MS = 1000.0
STEP = 1.25


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass
class Step:
    offered: float
    seconds: float
    sent: int
    took: float
    latencies: list[float]
    failures: int  # non-2xx answers and requests that got no answer
    rounds: int = 0  # delta rounds: the emulator's delta calls (a covered message makes none)
    executions: int = 0  # sync_mailbox executions: one per message
    failed_rounds: int = 0
    ignored: int = 0  # notifications the app ignored (unknown subscription, clientState, tenant)
    cpu: dict[str, float] = field(default_factory=dict)  # process CPU s of host, emulator, Azurite in the step

    @property
    def achieved(self) -> float:
        # The last POST is due (sent - 1)/offered after the first: an on-time run is 1.00 of offered.
        return self.sent / max(self.took, self.sent / self.offered)

    @property
    def p50(self) -> float:
        return pct(self.latencies, 0.5)

    @property
    def p99(self) -> float:
        return pct(self.latencies, 0.99)

    @property
    def under_ceiling(self) -> bool:
        return self.p99 < CEILING_P99_MS and self.failures == 0

    def line(self) -> str:
        return (
            f"  {self.offered:5.0f}/s for {self.seconds:.0f} s: sent {self.sent} in {self.took:.1f} s "
            f"({self.achieved:.0f}/s achieved, {self.achieved / self.offered:.2f} of offered), "
            f"p50 {self.p50:.1f} ms, p99 {self.p99:.1f} ms, non-2xx {self.failures}; "
            f"rounds {self.rounds} ({self.rounds / self.sent:.3f} per notification; "
            f"{self.executions} sync_mailbox executions)"
            + (f", {self.failed_rounds} failed" if self.failed_rounds else "")
            + (f", IGNORED by the app {self.ignored}" if self.ignored else "")
            + "; CPU per notification "
            + ", ".join(f"{name} {1000 * used / self.sent:.2f} ms" for name, used in self.cpu.items())
        )


async def fire(url: str, bodies: list[bytes], rate: float, seconds: float) -> Step:
    """POST bodies round-robin at `rate` for `seconds` (bench.loadgen: latencies run from each
    POST's due time; no answer counts as a failure)."""
    started = time.perf_counter()
    result = await loadgen.fire(url, bodies, rate, max(1 / rate, seconds))
    took = time.perf_counter() - started
    return Step(rate, seconds, len(result.latencies_ms), took, result.latencies_ms, result.non_2xx)


def ignored_since(mark: int) -> int:
    """Notifications the app ignored since log offset `mark` (it logs a warning per POST)."""
    text = LOG.read_text()[mark:]
    return sum(int(n) for n in re.findall(r"ignored (\d+) of \d+ notification", text))


ACKS_ONLY = False  # --acks-only: the mailbox-sync trigger is disabled, nothing reads the messages


def wait_rounds(s: BenchStack, mark: int, settle_s: float = 2.0, timeout_s: float = 600) -> dict[str, int]:
    """Wait until the mailbox-sync queue is empty and the host's sync_mailbox executions since
    `mark` have stopped growing for settle_s; those executions by outcome."""
    if ACKS_ONLY:
        return {"Succeeded": 0, "Failed": 0}
    deadline = time.monotonic() + timeout_s
    last: dict[str, int] = {}
    since = time.monotonic()
    while time.monotonic() < deadline:
        now = executions("sync_mailbox", mark)
        if now != last or s.queue_depth("mailbox-sync"):
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= settle_s:
            return now
        time.sleep(0.25)
    print(f"  (rounds still running after {timeout_s:.0f} s)")
    return last


def run_step(s: BenchStack, url: str, bodies: list[bytes], rate: float, seconds: float) -> Step:
    mark, deltas, cpu = log_mark(), delta_calls(s.graph), s.cpu()
    step = asyncio.run(fire(url, bodies, rate, seconds))
    done = wait_rounds(s, mark)  # the rounds' CPU counts too: the acknowledgements' work done
    step.cpu = {name: used - cpu[name] for name, used in s.cpu().items()}
    step.executions, step.failed_rounds = done["Succeeded"] + done["Failed"], done["Failed"]
    step.rounds = delta_calls(s.graph) - deltas
    step.ignored = ignored_since(mark)
    print(step.line(), flush=True)
    return step


def run_mode(s: BenchStack, label: str, url: str, bodies: list[bytes], args: argparse.Namespace) -> None:
    print(f"notification acks, {label} (POST /api/graph/notifications → 2xx)", flush=True)
    steps = [run_step(s, url, bodies, rate, args.seconds) for rate in args.rate_list]
    if args.ceiling:
        rate = args.rate_list[-1]
        while steps[-1].under_ceiling and rate < args.max_rate:
            rate = min(args.max_rate, math.ceil(rate * STEP))
            steps.append(run_step(s, url, bodies, rate, args.seconds))
    sent = sum(st.sent for st in steps)
    rounds = sum(st.rounds for st in steps)
    print(
        f"  {label}: {sent} notifications → {rounds} delta rounds ({rounds / sent:.4f} per notification, "
        f"{sum(st.failed_rounds for st in steps)} failed); ignored by the app {sum(st.ignored for st in steps)}"
    )
    goal = [st for st in steps if st.offered == GOAL_RATE]
    if goal:
        ok = all(st.p99 < GOAL_P99_MS and st.failures == 0 for st in goal)
        print(
            f"  goal {GOAL_RATE}/s with p99 < {GOAL_P99_MS:.0f} ms and 0 non-2xx: {'pass' if ok else 'FAIL'} "
            f"(p99 {', '.join(f'{st.p99:.1f}' for st in goal)} ms, {goal[0].achieved / GOAL_RATE:.2f} of it achieved)"
        )
    if args.ceiling:
        first_over = next((i for i, st in enumerate(steps) if not st.under_ceiling), len(steps))
        if first_over == 0:
            print(f"  ceiling below {steps[0].offered:.0f}/s (p99 over {CEILING_P99_MS:.0f} ms or non-2xx already)")
            return
        best = max(steps[:first_over], key=lambda st: st.offered)
        if first_over < len(steps):
            over = steps[first_over]
            bound, why = "", f"next {over.offered:.0f}/s: p99 {over.p99:.0f} ms, non-2xx {over.failures}"
        else:
            bound, why = "≥ ", f"stopped at --max-rate {args.max_rate}"
        print(
            f"  ceiling {bound}{best.offered:.0f}/s (p99 {best.p99:.0f} ms, {best.achieved:.0f}/s achieved; {why}) "
            f"= {best.offered / GOAL_RATE:.2f}× the {GOAL_RATE}/s goal"
        )


WRK_SCRIPT = """
bodies = {%s}
i = 0
request = function()
  i = i %% #bodies + 1
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, bodies[i])
end
"""


def run_wrk(s: BenchStack, url: str, bodies: list[bytes], seconds: float) -> None:
    """Closed loop (wrk: 8 connections, each sends when its last answer came): the rate the
    host sustains and its latency there, the bodies round-robin. wrk is Debian's package."""
    quoted = ",".join("[==[" + b.decode() + "]==]" for b in bodies)
    script = LOG.parent / "acks.lua"
    script.write_text(WRK_SCRIPT % quoted)
    mark, deltas = log_mark(), delta_calls(s.graph)
    command = ["wrk", "-t", "2", "-c", "8", "-d", f"{seconds:.0f}s", "--latency", "-s", str(script), url]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    done = wait_rounds(s, mark)
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
    p99_ms = float(p99.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)] if p99 else float("nan")
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    print(f"  wrk, {len(bodies)} mailboxes, 8 connections, {seconds:.0f} s:")
    print("    " + "\n    ".join(line for line in out.splitlines() if line.strip()))
    ok = rate >= GOAL_RATE and p99_ms < GOAL_P99_MS and not errors
    print(
        f"  wrk: {rate:.0f}/s at p99 {p99_ms:.1f} ms, non-2xx {errors.group(1) if errors else 0}; "
        f"delta rounds {delta_calls(s.graph) - deltas}, sync_mailbox executions {done['Succeeded'] + done['Failed']}; "
        f"goal ≥ {GOAL_RATE}/s with p99 < {GOAL_P99_MS:.0f} ms: {'pass' if ok else 'FAIL'}"
    )


def zulu(iso: str) -> str:
    dt = datetime.fromisoformat(iso).astimezone(UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


def bodies_for(s: BenchStack, template: dict[str, Any], mailboxes: list[str]) -> list[bytes]:
    """One notification POST per mailbox, shaped like the captured real delivery `template`
    (one item), with that mailbox's subscription id, clientState and tenant."""
    item = template["value"][0]
    subs = s.graph.get("/_emulator/subscriptions").json()["subscriptions"]
    by_mailbox = {sub["mailbox"]: sub for sub in subs if not sub["expired"]}
    missing = [m for m in mailboxes if m not in by_mailbox]
    if missing:
        raise SystemExit(f"{len(missing)} of {len(mailboxes)} mailboxes have no live subscription")
    bodies = []
    for i, mailbox in enumerate(mailboxes):
        sub = by_mailbox[mailbox]
        event = f"AAMkAGJlbmNo{i:06}="  # no such event: a round reads the delta whatever the resource
        resource = f"Users/{mailbox}/Events/{event}"
        mine = copy.deepcopy(item)
        mine.update(
            subscriptionId=sub["id"],
            subscriptionExpirationDateTime=zulu(sub["expirationDateTime"]),
            changeType="updated",
            resource=resource,
            clientState=sub["clientState"],
            tenantId=sub["tenantId"],
        )
        mine["resourceData"] = {**item["resourceData"], "@odata.id": resource, "id": event}
        assert mine.keys() == item.keys() and mine["resourceData"].keys() == item["resourceData"].keys()
        bodies.append(json.dumps({**template, "value": [mine]}).encode())
    return bodies


def captured_delivery(s: BenchStack, mailbox: str, timeout_s: float = 30) -> dict[str, Any]:
    """The first change notification the emulator delivered for `mailbox`'s events."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for d in s.graph.get("/_emulator/deliveries").json()["deliveries"]:
            resource = d["body"]["value"][0].get("resource", "") if d["kind"] == "notification" else ""
            if resource.startswith(f"Users/{mailbox}/"):
                return d["body"]
        time.sleep(0.1)
    raise SystemExit(f"no notification delivered for {mailbox} within {timeout_s:.0f} s")


def edit_lags(s: BenchStack, tenant: str, mailbox: str, event: str, edits: int) -> None:
    after = s.api.get("/orgs/bench/changes", params={"latest": "true", "limit": 1}).json()["next"]
    lags: list[float] = []
    with s.graph_as(tenant) as g:
        for i in range(edits):
            started = time.perf_counter()
            g.patch(f"/users/{mailbox}/events/{event}", json={"subject": f"Edited {i}"})
            while True:
                page = s.api.get("/orgs/bench/changes", params={"after": after, "limit": 500}).json()
                after = page["next"]
                if any(c["data"].get("title") == f"Edited {i}" for c in page["changes"]):
                    lags.append(time.perf_counter() - started)
                    break
                if time.perf_counter() - started > 60:
                    print(f"  edit {i} never arrived")
                    break
                time.sleep(0.05)
    if lags:
        print(
            f"Outlook edit → change feed ({len(lags)} edits): p50 {statistics.median(lags):.2f} s, "
            f"p95 {pct(lags, 0.95):.2f} s, max {max(lags):.2f} s"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--mailboxes", default="1,1000", help="the modes: 1 and/or N linked mailboxes, comma-separated (default 1,1000)"
    )
    parser.add_argument("--rates", default="100,300,500")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--ceiling", action="store_true", help="raise the rate ×1.25 until p99 passes 1 s")
    parser.add_argument("--max-rate", type=int, default=20_000, help="the ceiling search stops here")
    parser.add_argument("--edits", type=int, default=20)
    parser.add_argument(
        "--acks-only",
        action="store_true",
        help="disable the rounds' trigger: the acknowledgements alone on the instance, as Flex scales HTTP apart",
    )
    parser.add_argument(
        "--wrk", type=float, default=0, help="then this many seconds of wrk (8 connections) over the N mailboxes"
    )
    args = parser.parse_args()
    args.rate_list = [float(r) for r in args.rates.split(",")]
    modes = [int(m) for m in args.mailboxes.split(",")]
    if any(m < 1 for m in modes):
        parser.error("--mailboxes must be at least 1")
    many = max(modes) if max(modes) > 1 else 0
    LOG.parent.mkdir(exist_ok=True)
    LOG.write_text("")
    global ACKS_ONLY
    ACKS_ONLY = args.acks_only
    with stack(**({"AzureWebJobs.sync_mailbox.Disabled": "true"} if args.acks_only else {})) as s:
        people = [{"userPrincipalName": "pat@bench.test", "displayName": "Pat"}]
        people += [{"userPrincipalName": f"u{i:05}@bench.test", "displayName": f"User {i}"} for i in range(many)]
        tenant, users = s.tenant(people)
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
        mailbox = users["pat@bench.test"]
        captured = captured_delivery(s, mailbox)
        template = {**captured, "value": [captured["value"][0]]}  # one notification a POST, in both modes
        wait_rounds(s, 0)  # the rounds of the link and of that delivery
        url = f"{s.app_url}/api/graph/notifications"
        for n in modes:
            if n == 1:
                run_mode(s, "1 mailbox", url, [json.dumps(template).encode()], args)
                continue
            started = time.perf_counter()
            totals = link_workers(s, n)
            print(f"linked {totals['linked']} of {n} mailboxes in {time.perf_counter() - started:.1f} s", flush=True)
            wait_quiet(s.graph, s=None if ACKS_ONLY else s)  # their baseline rounds
            bodies = bodies_for(s, template, [users[f"u{i:05}@bench.test"] for i in range(n)])
            run_mode(s, f"{n} mailboxes round-robin", url, bodies, args)
            if args.wrk:
                run_wrk(s, url, bodies, args.wrk)
        if args.edits:
            edit_lags(s, tenant, mailbox, event, args.edits)


if __name__ == "__main__":
    main()
