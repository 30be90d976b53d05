"""Capacity: what one linked mailbox costs, counted on the real stack (issue #15).

    .venv/bin/python -m bench.capacity [--mailboxes 20] [--org-size N] [--json .run/capacity.json]

Azurite, the Graph emulator and one local host, with a counting proxy (bench/storage_counter.py)
in front of Azurite's Table and Queue endpoints: the app's AzureWebJobsStorage names the proxy,
so every table and queue request of the app *and* of the host's queue triggers is counted.
Graph requests come from the emulator's request log, function executions from the host's
"Executed 'Functions.<name>'" lines. Timers run only when the bench fires them (their schedules
are set to once a year), with host.json's own maxPollingInterval (2 s).

`--mailboxes` workers are linked in one org (a product webhook set, answered by the bench) —
or `--org-size` of them, of which the first `--mailboxes` act in the per-mailbox phases while
the timers' phases (reconcile, renewal) act on all, to show what grows with the org; then
each phase resets every counter, acts once per mailbox, and waits for its effect and for quiet
(no storage request but idle polls, no Graph request, no new execution, every queue empty, for
2 s):

1. idle reconcile round — the `reconcile` timer once, nothing changed;
2. push (new) — PUT one new appointment per mailbox (a meeting it organizes), and the echo
   round its notification starts;
3. Outlook change — a plain Graph PATCH of that event per mailbox as another application, its
   notification, round, feed entry and webhook delivery (the bench's PATCHes are not counted):
   once one mailbox at a time (each waits for the previous one's webhook), once all at once;
4. push (move) — PUT the appointments an hour later (with the title Outlook gave them: twoWay,
   the product applied the change), one at a time and all at once; nothing may reach the feed;
5. subscription renewal — the `renew_subscriptions` timer once, every subscription due
   (CALSYNC_RENEW_HORIZON_HOURS=70);
6. idle — 30 s with nothing to do: the host's empty polls, per instance.

Prints per operation and mailbox: Graph requests, table transactions (an entity group
transaction is one), queue messages sent, queue transactions (excluding the idle polling),
function executions; then one mailbox's day at a stated activity, and how many mailboxes each
documented limit allows (docs/capacity-draft.md cites the limits).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import re
import secrets
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from azure.storage.queue import QueueServiceClient

from bench.stack import KEY
from devtools.services import ROOT, Service, free_port, start_azurite, start_host, start_python
from shared.adapters.settings import AZURITE_ACCOUNT, AZURITE_KEY

LOG = ROOT / ".run" / "bench-capacity-host.log"
OUTLOOK_APP = "50a50a50-0000-4000-8000-00000000ca9a"  # "Outlook": another application's requests
ONCE_A_YEAR = "0 0 0 1 1 *"  # the timers fire only when the bench runs them
POLL_INTERVAL = "00:00:02"  # host.json's maxPollingInterval, as deployed
IDLE_WINDOW_S = 30.0
LINK_ROWS = 1000  # batch-link's cap per request
EXECUTED = re.compile(r"Executed 'Functions\.(\w+)' \((Succeeded|Failed)")
TABLE_TX = ("read", "query", "insert", "upsert", "update", "delete", "batch", "create table", "list tables")
NOT_QUEUE_TX = ("got messages", "poll (empty)")

# -- the day we price (per linked mailbox) -------------------------------------------------------
CHANGES_PER_DAY = 20  # Outlook changes
PUSHES_PER_DAY = 10  # 5 new appointments + 5 moves
RECONCILES_PER_DAY = 96  # every 15 minutes (local.settings.sample.json)
SUBSCRIPTION_MINUTES = 4200  # shared/service/subscriptions.py (Graph's maximum for events: 4,230)
RENEW_HORIZON_H = 24  # CALSYNC_RENEW_HORIZON_HOURS default: renewed with < 24 h left
RENEWALS_PER_DAY = 24 * 60 / (SUBSCRIPTION_MINUTES - RENEW_HORIZON_H * 60)  # every 46 h → 0.52
RENEW_TIMER_PER_DAY = 48  # the renewal timer every 30 minutes (per app, not per mailbox)
RUSH = 0.30  # the morning rush: 30 % of a day's changes and pushes in one hour

# -- documented limits (sources: docs/capacity-draft.md) ----------------------------------------
ACCOUNT_REQUESTS_S = 20_000  # standard account, default (40,000 in the regions the doc lists)
ACCOUNT_ENTITIES_S = 20_000  # Table storage: 20,000 transactions (1 KiB entities) per second
PARTITION_ENTITIES_S = 2_000  # one table partition
QUEUE_MESSAGES_S = 2_000  # one queue
GRAPH_APP_REQUESTS_S = 130_000 / 10  # per app, across all tenants
GRAPH_MAILBOX_REQUESTS_10MIN = 10_000  # per app and mailbox
# One instance (docs/benchmarks.md, "Enterprise scale (#27)", 2026-12-06):
ROUNDS_S = 10_000 / 46.5  # idle rounds/s: reconcile of 10,000 mailboxes in 46.5 s (03530d4)
ACKS_S = 384  # acknowledged/s, wrk closed loop with the rounds in the same process (f773801)


# -- the stack ------------------------------------------------------------------------------------
class Webhook:
    """The booking product's webhook receiver: answers 204 and counts the changes it got."""

    def __init__(self) -> None:
        self.changes = 0
        self.posts = 0
        lock = threading.Lock()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    got = len(json.loads(body).get("changes", []))
                except ValueError:
                    got = 0
                with lock:
                    hook.changes += got
                    hook.posts += 1
                self.send_response(204)
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


@dataclass
class Rig:
    api: httpx.Client
    graph: httpx.Client
    graph_url: str
    app_url: str
    counter: httpx.Client
    queues: QueueServiceClient  # Azurite directly: reading queue depths is not counted
    hook: Webhook
    tenant: str = ""
    users: dict[str, str] = field(default_factory=dict)
    mark: int = 0

    def graph_as_outlook(self) -> httpx.Client:
        return httpx.Client(
            base_url=f"{self.graph_url}/v1.0",
            timeout=60,
            headers={"Authorization": f"Bearer emulator:{self.tenant}:{OUTLOOK_APP}"},
        )

    def reset(self) -> None:
        self.counter.delete("/stats")
        self.graph.delete("/_emulator/requests")
        self.mark = LOG.stat().st_size

    def executions(self) -> Counter[tuple[str, str]]:
        with LOG.open("rb") as f:
            f.seek(self.mark)
            text = f.read().decode(errors="replace")
        return Counter(EXECUTED.findall(text))

    def ran(self, name: str) -> int:
        return sum(n for (fn, _), n in self.executions().items() if fn == name)

    def graph_calls(self, pattern: str) -> int:
        return self.graph.get("/_emulator/requests").json()["byPattern"].get(pattern, 0)

    def depth(self) -> int:
        return sum(
            self.queues.get_queue_client(q.name).get_queue_properties().approximate_message_count
            for q in self.queues.list_queues()
        )

    def settle(self, expect: Callable[[], bool], what: str, quiet_s: float = 2.0, timeout_s: float = 600) -> None:
        """Until `expect()` holds and, for quiet_s, nothing moves: no storage request but the
        host's empty polls, no Graph request, no new execution, every queue empty."""
        deadline = time.monotonic() + timeout_s
        last: tuple[int, int] | None = None
        since = time.monotonic()
        while time.monotonic() < deadline:
            now = (self.graph.get("/_emulator/requests").json()["total"], sum(self.executions().values()))
            if now != last:
                last, since = now, time.monotonic()
            storage_quiet = self.counter.get("/stats").json()["quiet_for"]
            if min(storage_quiet, time.monotonic() - since) >= quiet_s and expect() and self.depth() == 0:
                return
            time.sleep(0.2)
        raise TimeoutError(f"{what}: no quiet within {timeout_s:.0f} s")


@contextlib.contextmanager
def rig() -> Iterator[Rig]:
    services: list[Service] = []
    hook = Webhook()
    try:
        azurite = start_azurite()
        services.append(azurite)
        direct = azurite.env["AzureWebJobsStorage"]
        ends = dict(part.split("=", 1) for part in direct.strip(";").split(";"))
        upstream = {k: ends[k].split("//")[1].split("/")[0] for k in ("TableEndpoint", "QueueEndpoint")}
        control, table, queue = free_port(), free_port(), free_port()
        services.append(
            start_python(
                "storage counter",
                "bench.storage_counter",
                [
                    *("--control-port", str(control), "--table-port", str(table), "--queue-port", str(queue)),
                    *("--table-upstream", upstream["TableEndpoint"], "--queue-upstream", upstream["QueueEndpoint"]),
                ],
                {},
                f"http://127.0.0.1:{control}/stats",
            )
        )
        counted = (
            f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
            f"BlobEndpoint={ends['BlobEndpoint']};"
            f"QueueEndpoint=http://127.0.0.1:{queue}/{AZURITE_ACCOUNT};"
            f"TableEndpoint=http://127.0.0.1:{table}/{AZURITE_ACCOUNT};"
        )
        gport = free_port()
        services.append(
            start_python(
                "graph emulator",
                "devtools.graph_emulator",
                ["--port", str(gport)],
                {},
                f"http://127.0.0.1:{gport}/_emulator/tenants",
            )
        )
        port = free_port()
        LOG.parent.mkdir(exist_ok=True)
        LOG.write_bytes(b"")
        env = {
            "AzureWebJobsStorage": counted,
            "GRAPH_AUTH_MODE": "emulator",
            "GRAPH_BASE_URL": f"http://127.0.0.1:{gport}/v1.0",
            "CALSYNC_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
            "CALSYNC_FUNCTION_KEY": KEY,
            "CALSYNC_RECONCILE_SCHEDULE": ONCE_A_YEAR,
            "CALSYNC_RENEW_SCHEDULE": ONCE_A_YEAR,
            "CALSYNC_RENEW_HORIZON_HOURS": "70",  # every subscription (4,200 min) is due
            "AzureFunctionsJobHost__extensions__queues__maxPollingInterval": POLL_INTERVAL,
        }
        host = start_host(env, port=port, log=LOG)
        services.append(host)
        with (
            httpx.Client(base_url=f"{host.url}/api", headers={"x-functions-key": KEY}, timeout=120) as api,
            httpx.Client(base_url=f"http://127.0.0.1:{gport}", timeout=60) as graph,
            httpx.Client(base_url=f"http://127.0.0.1:{control}", timeout=30) as counter,
            QueueServiceClient.from_connection_string(direct) as queues,
        ):
            yield Rig(api, graph, f"http://127.0.0.1:{gport}", host.url, counter, queues, hook)
    finally:
        hook.close()
        for service in reversed(services):
            service.stop()


# -- measuring ------------------------------------------------------------------------------------
@dataclass
class Phase:
    name: str
    ops: int
    elapsed_s: float
    graph: dict[str, int]  # by "METHOD pattern", the bench's own requests taken out
    storage: dict[str, Any]
    executions: dict[str, int]
    failed_executions: int
    feed: dict[str, int] = field(default_factory=dict)  # the changes it put in the feed, by type

    @property
    def graph_requests(self) -> int:
        return sum(self.graph.values())

    @property
    def table_tx(self) -> int:
        return sum(self.storage["table"].get(k, 0) for k in TABLE_TX)

    @property
    def entities(self) -> int:
        return sum(p["entities"] for p in self.storage["partitions"].values())

    @property
    def puts(self) -> int:
        return self.storage["queue"].get("put", 0)

    @property
    def queue_tx(self) -> int:
        return sum(n for k, n in self.storage["queue"].items() if k not in NOT_QUEUE_TX)

    @property
    def polls(self) -> int:
        return self.storage["queue"].get("poll (empty)", 0)

    @property
    def runs(self) -> int:
        return sum(self.executions.values())

    def per(self, value: float) -> float:
        return value / self.ops

    def fn(self, name: str) -> float:
        return self.executions.get(name, 0) / self.ops


def measure(
    r: Rig,
    name: str,
    ops: int,
    act: Callable[[], None],
    expect: Callable[[], bool],
    own: dict[str, int] | None = None,
) -> Phase:
    r.settle(lambda: True, f"before {name}")
    r.reset()
    started = time.perf_counter()
    act()
    r.settle(expect, name, timeout_s=3600)
    elapsed = time.perf_counter() - started
    graph = Counter(r.graph.get("/_emulator/requests").json()["byPattern"])
    graph.subtract(own or {})
    runs = r.executions()
    return Phase(
        name,
        ops,
        elapsed,
        {k: v for k, v in graph.items() if v},
        r.counter.get("/stats").json(),
        _by_function(runs),
        sum(n for (_, status), n in runs.items() if status == "Failed"),
    )


def _by_function(runs: Counter[tuple[str, str]]) -> dict[str, int]:
    total: Counter[str] = Counter()
    for (fn, _status), k in runs.items():
        total[fn] += k
    return dict(total)


def appointment(worker: str, day: datetime, i: int, shift_h: int = 0) -> dict[str, Any]:
    start = day + timedelta(hours=shift_h, minutes=30 * (i % 16))
    return {
        "title": f"Booking {i}",
        "start": start.isoformat()[:19],
        "end": (start + timedelta(minutes=30)).isoformat()[:19],
        "timeZone": "UTC",
        "organizer": worker,
        "push": True,
    }


def run(n: int, org_size: int | None = None, skip_renewal: bool = False) -> tuple[list[Phase], Phase, dict[str, Any]]:
    """`n` mailboxes act in each phase; the org has `org_size` linked (default n): the
    timers' phases act on all of them."""
    size = max(n, org_size or n)
    with rig() as r:
        people = [{"userPrincipalName": f"u{i:03}@bench.test", "displayName": f"User {i}"} for i in range(size)]
        seeded = r.graph.post(
            "/_emulator/seed", json={"tenants": [{"id": str(uuid.uuid4()), "domain": "bench.test", "users": people}]}
        ).json()["tenants"][0]
        r.tenant, r.users = seeded["id"], {u["userPrincipalName"]: u["id"] for u in seeded["users"]}
        r.api.put("/orgs/bench", json={"m365TenantId": r.tenant}).raise_for_status()
        secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
        r.api.put("/orgs/bench/settings", json={"webhookUrl": r.hook.url, "webhookSecret": secret}).raise_for_status()
        for first in range(0, size, LINK_ROWS):
            rows = "worker,m365Account\n" + "\n".join(
                f"w{i:03},u{i:03}@bench.test" for i in range(first, min(size, first + LINK_ROWS))
            )
            linked = r.api.post("/orgs/bench/workers/batch-link", content=rows, headers={"Content-Type": "text/csv"})
            assert linked.json()["totals"]["linked"] == min(size - first, LINK_ROWS), linked.text
        r.settle(lambda: r.ran("sync_mailbox") >= size, "baseline rounds", timeout_s=3600)
        workers = [f"w{i:03}" for i in range(n)]
        mailbox = {f"w{i:03}": r.users[f"u{i:03}@bench.test"] for i in range(n)}
        day = datetime.now(UTC).replace(hour=8, minute=0, second=0, microsecond=0) + timedelta(days=2)
        events: dict[str, str] = {}
        titles: dict[str, str] = {}  # the title the booking product holds (it applies Outlook's)
        phases: list[Phase] = []
        delta, create, patch = (
            "GET /users/{id}/calendarView/delta",
            "POST /users/{id}/events",
            "PATCH /users/{id}/events/{id}",
        )

        def fire(function: str) -> None:
            httpx.post(
                f"{r.app_url}/admin/functions/{function}", json={"input": ""}, headers={"x-functions-key": KEY}
            ).raise_for_status()

        def phase(
            name: str,
            act: Callable[[], None],
            expect: Callable[[], bool],
            own: dict[str, int] | None = None,
            ops: int = n,
        ):
            cursor = r.api.get("/orgs/bench/changes", params={"latest": "true", "limit": 1}).json()["next"]
            measured = measure(r, name, ops, act, expect, own)
            # Read after the counts are taken: what the phase put in the feed (pushes: nothing).
            feed = r.api.get("/orgs/bench/changes", params={"after": cursor, "limit": 500}).json()["changes"]
            measured.feed = dict(Counter(c["type"] for c in feed))
            phases.append(measured)
            return measured

        phase(
            "idle reconcile round",
            lambda: fire("reconcile"),
            # reconcile rounds run 50 to a sync_mailboxes execution (shared/service/reconcile_rounds.py)
            lambda: r.graph_calls(delta) >= size and r.ran("sync_mailboxes") >= -(-size // 50),
            ops=size,
        )

        def push_new() -> None:
            for i, w in enumerate(workers):
                answer = r.api.put(f"/orgs/bench/appointments/a{i:03}", json=appointment(w, day, i))
                answer.raise_for_status()
                events[w] = answer.json()["targets"][0]["eventId"]

        phase("push (new)", push_new, lambda: r.graph_calls(create) >= n and r.ran("sync_mailbox") >= n)

        def outlook(label: str, one_at_a_time: bool) -> Callable[[], None]:
            def act() -> None:
                with r.graph_as_outlook() as g:
                    for i, w in enumerate(workers):
                        before = r.hook.changes
                        titles[w] = f"{label} {i}"
                        g.patch(f"/users/{mailbox[w]}/events/{events[w]}", json={"subject": titles[w]})
                        if one_at_a_time:  # its notification, round, feed entry and webhook first
                            r.settle(lambda b=before: r.hook.changes > b, "one Outlook change", quiet_s=1.0)

            return act

        for label, alone in (("Outlook change, one at a time", True), ("Outlook change, all at once", False)):
            hooked = r.hook.changes
            measured = phase(label, outlook(label, alone), lambda h=hooked: r.hook.changes - h >= n, own={patch: n})
            assert measured.feed.get("updated") == n, f"{label}: the feed has {measured.feed}, not {n} updates"

        def push_move(shift_h: int, one_at_a_time: bool) -> Callable[[], None]:
            def act() -> None:
                for i, w in enumerate(workers):
                    before = r.ran("sync_mailbox")
                    # twoWay: the product applied the Outlook change (its title) and moves the booking.
                    body = {**appointment(w, day, i, shift_h), "title": titles[w]}
                    answer = r.api.put(f"/orgs/bench/appointments/a{i:03}", json=body)
                    answer.raise_for_status()
                    if one_at_a_time:  # and its echo round
                        r.settle(lambda b=before: r.ran("sync_mailbox") > b, "one move", quiet_s=1.0)

            return act

        for label, shift, alone in (("push (move), one at a time", 1, True), ("push (move), all at once", 2, False)):
            measured = phase(
                label, push_move(shift, alone), lambda: r.graph_calls(patch) >= n and r.ran("sync_mailbox") >= n
            )
            assert not measured.feed, f"{label}: our own writes came back as changes: {measured.feed}"

        if not skip_renewal:
            phase(
                "subscription renewal",
                lambda: fire("renew_subscriptions"),
                lambda: r.graph_calls("PATCH /subscriptions/{id}") >= size and r.ran("maintain_subscription") >= size,
                ops=size,
            )

        r.settle(lambda: True, "before idle", quiet_s=5.0)
        r.reset()
        started = time.perf_counter()
        while time.perf_counter() - started < IDLE_WINDOW_S:  # a rate over a window, not a wait
            time.sleep(0.5)
        idle = Phase(
            "idle",
            1,
            time.perf_counter() - started,
            dict(r.graph.get("/_emulator/requests").json()["byPattern"]),
            r.counter.get("/stats").json(),
            _by_function(r.executions()),
            0,
        )
        meta = {
            "mailboxes": n,
            "org_size": size,
            "listening_queues": sorted(q for q, c in idle.storage["queues"].items() if c.get("poll (empty)")),
            "webhook_posts": r.hook.posts,
            "webhook_changes": r.hook.changes,
            # A partition key naming one mailbox's worker or user is that mailbox's own; the
            # others (org-wide, app-wide) take the load of every mailbox.
            "mailbox_keys": [*workers, *mailbox.values(), *r.users],
        }
        return phases, idle, meta


# -- the model --------------------------------------------------------------------------------------
# How often each measured operation happens in one mailbox's day, and in its rush hour (the rush
# takes the all-at-once variants: many mailboxes of one org changing at the same moment).
DAY = {
    "idle reconcile round": RECONCILES_PER_DAY,
    "push (new)": PUSHES_PER_DAY / 2,
    "Outlook change, one at a time": CHANGES_PER_DAY,
    "push (move), one at a time": PUSHES_PER_DAY / 2,
    "subscription renewal": RENEWALS_PER_DAY,
}
RUSH_HOUR_ONE_AT_A_TIME = {  # the same rush, but no two rounds of the org at the same moment
    "idle reconcile round": RECONCILES_PER_DAY / 24,
    "push (new)": RUSH * PUSHES_PER_DAY / 2,
    "Outlook change, one at a time": RUSH * CHANGES_PER_DAY,
    "push (move), one at a time": RUSH * PUSHES_PER_DAY / 2,
    "subscription renewal": RENEWALS_PER_DAY / 24,
}
RUSH_HOUR = {
    "idle reconcile round": RECONCILES_PER_DAY / 24,
    "push (new)": RUSH * PUSHES_PER_DAY / 2,
    "Outlook change, all at once": RUSH * CHANGES_PER_DAY,
    "push (move), all at once": RUSH * PUSHES_PER_DAY / 2,
    "subscription renewal": RENEWALS_PER_DAY / 24,
}


@dataclass
class Model:
    phases: list[Phase]
    idle: Phase
    meta: dict[str, Any]

    @property
    def n(self) -> int:
        return self.meta["mailboxes"]

    def metrics(self, p: Phase) -> dict[str, float]:
        """Per operation (one mailbox): the counts, puts per queue, and per shared partition the
        entities touched and the query pages that returned the whole org (they grow with it)."""
        out: dict[str, float] = {
            "graph": p.graph_requests,
            "table tx": p.table_tx,
            "entities": p.entities,
            "queue puts": p.puts,
            "queue tx": p.queue_tx,
            "executions": p.runs,
            "rounds": p.executions.get("sync_mailbox", 0) + p.executions.get("sync_mailboxes", 0),
            "notifications": p.executions.get("graph_notifications", 0),
        }
        for q, c in p.storage["queues"].items():
            out[f"puts:{q}"] = c.get("put", 0)
        org_pages = {
            (t, pk): (pages, returned)
            for t, pk, pages, returned in p.storage["partition_queries"]
            if pages and returned / pages >= 0.9 * self.n
        }
        for t, pk, entities in p.storage["busiest_partitions"]:
            if pk in ("(scan)", "?"):
                continue  # a query without a PartitionKey spans partitions
            if any(key in pk for key in self.meta["mailbox_keys"]):
                out[f"own:{t}|{pk}"] = entities
                continue
            pages, returned = org_pages.get((t, pk), (0, 0))
            out[f"shared:{t}|{pk}"] = entities
            out[f"point:{t}|{pk}"] = entities - returned
            out[f"orgpages:{t}|{pk}"] = pages
            out["orgpages"] = out.get("orgpages", 0) + pages
        return {k: v / p.ops for k, v in out.items()}

    def weighted(self, weights: dict[str, float]) -> dict[str, float]:
        total: Counter[str] = Counter()
        for p in self.phases:
            for metric, value in self.metrics(p).items():
                total[metric] += weights.get(p.name, 0) * value
        return dict(total)


def report(model: Model) -> str:
    n, phases, idle = model.n, model.phases, model.idle
    lines = [
        f"calsync capacity at {model.meta.get('revision', '?')}: {n} linked mailboxes in one org, one local host, "
        "Azurite, Graph emulator",
        "",
    ]
    head = (
        f"{'per operation, per mailbox':<31}{'Graph':>6}{'table tx':>9}{'(entities)':>11}"
        f"{'q puts':>7}{'queue tx':>9}{'(host)':>7}{'executions':>11}{'rounds':>7}{'failed':>7}{'feed':>5}"
        f"{'elapsed':>8}"
    )
    lines += [head, "-" * len(head)]
    for p in phases:
        lines.append(
            f"{p.name:<31}{p.per(p.graph_requests):>6.2f}{p.per(p.table_tx):>9.2f}{p.per(p.entities):>11.2f}"
            f"{p.per(p.puts):>7.2f}{p.per(p.queue_tx):>9.2f}{p.per(p.queue_tx - p.puts):>7.2f}{p.per(p.runs):>11.2f}"
            f"{p.fn('sync_mailbox'):>7.2f}{p.per(p.failed_executions):>7.2f}{p.per(sum(p.feed.values())):>5.1f}"
            f"{p.elapsed_s:>7.1f}s"
        )
    lines += [
        "",
        "Graph: requests to Graph (the bench's own Outlook PATCHes taken out). table tx: billed table",
        "transactions (an entity group transaction is 1). (entities): entities read, written or returned",
        "(each operation of a batch counts: what the scalability targets count). q puts: queue messages",
        "sent (ours). queue tx: every queue request but the host's empty polls: puts, receives that got",
        "messages, deletes, visibility updates, creates; (host): queue tx less the puts, the trigger's",
        "side (in Azure the Functions host makes them; billed all the same). executions: every function",
        "run; failed: of those, failed and retried. rounds: sync_mailbox runs. feed: changes it put in",
        "the feed.",
        "",
        "detail per operation (whole phase, all mailboxes):",
    ]
    for p in phases:
        lines += [
            f"  {p.name}: {p.ops} ops in {p.elapsed_s:.1f} s",
            f"    graph      {dict(sorted(p.graph.items()))}",
            f"    table tx   {_by_table(p.storage['tables'])}",
            f"    entities   {p.storage['table'].get('query entities', 0)} returned by "
            f"{p.storage['table'].get('query', 0)} query pages, {p.storage['table'].get('batch ops', 0)} in "
            f"{p.storage['table'].get('batch', 0)} batches",
            f"    queue      {p.storage['queue']}",
            f"    puts to    { {q: c['put'] for q, c in p.storage['queues'].items() if c.get('put')} }",
            f"    functions  {dict(sorted(p.executions.items()))}, failed {p.failed_executions}",
            f"    non-2xx    {p.storage['failed']}",
            f"    e.g.       { {k: v[0] for k, v in p.storage.get('failed_paths', {}).items()} }",
            f"    busiest partitions (table, PartitionKey, entities) {p.storage['busiest_partitions'][:3]}",
        ]
    polls_s = idle.polls / idle.elapsed_s
    queues = model.meta["listening_queues"]
    lines += [
        "",
        f"idle, per instance: {idle.polls} empty polls in {idle.elapsed_s:.0f} s on {len(queues)} queues = "
        f"{polls_s:.2f}/s = {polls_s * 86400:,.0f}/day (maxPollingInterval {POLL_INTERVAL}); "
        f"other storage requests {idle.table_tx + idle.queue_tx}, Graph {idle.graph_requests}",
        "",
    ]
    day = model.weighted(DAY)
    lines += [
        f"one mailbox's day: {CHANGES_PER_DAY} Outlook changes, {PUSHES_PER_DAY} pushes (5 new, 5 moves), "
        f"reconcile every 15 min ({RECONCILES_PER_DAY}), renewal every "
        f"{(SUBSCRIPTION_MINUTES - RENEW_HORIZON_H * 60) / 60:.0f} h ({RENEWALS_PER_DAY:.2f}), one at a time",
        f"  Graph requests {day['graph']:.0f}, table transactions {day['table tx']:.0f} "
        f"(entities {day['entities']:.0f}, of them {day.get('orgpages', 0):.0f} query pages that each "
        f"return the whole org: +{day.get('orgpages', 0):.0f} entities per linked mailbox in the org), "
        f"queue messages {day['queue puts']:.0f}, queue transactions {day['queue tx']:.0f}, "
        f"function executions {day['executions']:.0f} (rounds {day['rounds']:.0f})",
        f"  plus per instance {polls_s * 86400:,.0f} empty polls; per app {RECONCILES_PER_DAY} reconcile and "
        f"{RENEW_TIMER_PER_DAY} renewal timer runs; per org {RECONCILES_PER_DAY} reconcile_org runs",
        "",
    ]
    lines += limits(model, polls_s)
    return "\n".join(lines)


def _by_table(tables: dict[str, dict[str, int]]) -> dict[str, int]:
    return {t: sum(c.get(k, 0) for k in TABLE_TX) for t, c in tables.items()}


def limits(model: Model, polls_s: float) -> list[str]:
    day, hour = model.weighted(DAY), model.weighted(RUSH_HOUR)
    avg = {k: v / 86400 for k, v in day.items()}  # per mailbox and second, over the day
    peak = {k: v / 3600 for k, v in hour.items()}  # per mailbox and second, in its rush hour

    def worst(prefix: str, rates: dict[str, float]) -> tuple[str, float]:
        found = [(k.split(":", 1)[1], v) for k, v in rates.items() if k.startswith(prefix)]
        return max(found, key=lambda kv: kv[1]) if found else ("-", 0.0)

    def allowed(limit: float, rate: float, fixed: float = 0.0) -> str:
        return f"{(limit - fixed) / rate:>12,.0f}" if rate > 0 else f"{'-':>12}"

    calm = {k: v / 3600 for k, v in model.weighted(RUSH_HOUR_ONE_AT_A_TIME).items()}
    requests = ("table tx", "queue tx")
    queue, queue_peak = worst("puts:", peak)
    rows = [
        (
            "storage account, 20,000 requests/s (less one instance's polls)",
            ACCOUNT_REQUESTS_S,
            sum(avg[k] for k in requests),
            sum(peak[k] for k in requests),
            polls_s,
        ),
        ("Table storage, 20,000 entities/s per account", ACCOUNT_ENTITIES_S, avg["entities"], peak["entities"], 0),
        (f"one queue, 2,000 messages/s ({queue})", QUEUE_MESSAGES_S, avg.get(f"puts:{queue}", 0), queue_peak, 0),
        ("Graph, 130,000 requests per 10 s per app", GRAPH_APP_REQUESTS_S, avg["graph"], peak["graph"], 0),
        (f"one instance's rounds, ~{ROUNDS_S:.0f}/s (idle)", ROUNDS_S, avg["rounds"], peak["rounds"], 0),
        # Acks: one notification POST per change (the emulator folds simultaneous ones into one POST).
        (f"one instance's acks, ~{ACKS_S:.0f}/s", ACKS_S, avg["notifications"], calm["notifications"], 0),
    ]
    out = [f"mailboxes allowed (org of {model.n}) by{'':<42}{'day average':>12}{'rush hour':>12}"]
    for label, limit, a, pk, fixed in rows:
        out.append(f"{label:<66}{allowed(limit, a, fixed)}{allowed(limit, pk, fixed)}")
    # Entities grow with the org: each org-wide query page returns every link of the org.
    for size in (100, 1000):
        extra_avg, extra_peak = avg.get("orgpages", 0) * (size - model.n), peak.get("orgpages", 0) * (size - model.n)
        out.append(
            f"{f'Table storage, 20,000 entities/s per account, orgs of {size:,}':<66}"
            f"{allowed(ACCOUNT_ENTITIES_S, avg['entities'] + extra_avg)}"
            f"{allowed(ACCOUNT_ENTITIES_S, peak['entities'] + extra_peak)}"
        )
    # One shared partition (the org's): L mailboxes put L*point + L*pages*L entities/s on it.
    part, _ = worst("shared:", peak)
    point, pages = peak.get(f"point:{part}", 0.0), peak.get(f"orgpages:{part}", 0.0)
    point_d, pages_d = avg.get(f"point:{part}", 0.0), avg.get(f"orgpages:{part}", 0.0)
    point_c, pages_c = calm.get(f"point:{part}", 0.0), calm.get(f"orgpages:{part}", 0.0)

    def org_size(a: float, b: float) -> str:
        if b <= 0:
            return allowed(PARTITION_ENTITIES_S, a)
        return f"{(-a + (a * a + 4 * b * PARTITION_ENTITIES_S) ** 0.5) / (2 * b):>12,.0f}"

    own, own_peak = worst("own:", peak)
    per_10min = hour["graph"] / 6
    out += [
        f"{'mailboxes in ONE org, by its partition ' + part + ' (2,000 entities/s)':<66}"
        f"{org_size(point_d, pages_d)}{org_size(point, pages)}"
        f"  (rush one at a time: {org_size(point_c, pages_c).strip()})",
        f"  (per mailbox in the rush: {point * 3600:.1f} entities/h on it plus {pages * 3600:.2f} query pages/h "
        "that each return every link of the org)",
        f"busiest partition of one mailbox ({own}): {own_peak * 3600:.0f} entities in its rush hour: no bound",
        f"Graph per mailbox and app, 10,000 per 10 min: the rush hour uses {per_10min:.1f} per 10 min: no bound",
        f"reconcile: all mailboxes every 15 min; one instance drains ~{ROUNDS_S * 900:,.0f} idle rounds in 15 min",
    ]
    return out


def revision() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    app = ("function_app.py", "host.json", "functions", "shared", "devtools")
    changed = git("status", "--porcelain", "--untracked-files=no", "--", *app)
    return git("rev-parse", "--short", "HEAD") + (" + uncommitted changes to the app" if changed else "")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mailboxes", type=int, default=20, help="mailboxes that act in each phase")
    parser.add_argument("--org-size", type=int, help="mailboxes linked in the org (default: --mailboxes)")
    parser.add_argument(
        "--skip-renewal",
        action="store_true",
        help="leave out the renewal phase (Azurite serves a queue of 20,000 messages at ~3/s: bench.azurite_scaling)",
    )
    parser.add_argument("--json", type=Path, default=ROOT / ".run" / "capacity.json", help="raw counts")
    args = parser.parse_args()
    phases, idle, meta = run(args.mailboxes, args.org_size, args.skip_renewal)
    args.json.parent.mkdir(exist_ok=True)
    meta["revision"] = revision()
    raw = {"meta": meta, "phases": [p.__dict__ for p in phases], "idle": idle.__dict__}
    args.json.write_text(json.dumps(raw, indent=1, default=str))
    print(report(Model(phases, idle, meta)))


if __name__ == "__main__":
    main()
