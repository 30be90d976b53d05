"""A million mailboxes on paper (issue #27, goal 2): storage accounts, instances, Graph against
its limits and the cost per mailbox-month, from the operations the capacity bench counted.

    .venv/bin/python -m bench.scale_model [--mailboxes 1000000] [--orgs 10000]
        [--org-sizes 100,1000,5000,20000] [--sampling 1,0.1,0.01] [--capacity-json .run/capacity.json]

Pure arithmetic: nothing is started or measured here. The counted inputs are the constants
below, each with the docs/benchmarks.md section and commit it was measured at; with
--capacity-json the per-operation counts, the idle polls and the bench's org size come from a
bench/capacity.py run instead. The day and the rush hour are bench/capacity.py's (its DAY and
RUSH_HOUR weights, imported). docs/scale.md is this model as a page, with the source of every
limit and price.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path

from bench import capacity
from bench.capacity import (
    ACCOUNT_ENTITIES_S,
    ACCOUNT_REQUESTS_S,
    GRAPH_APP_REQUESTS_S,
    GRAPH_MAILBOX_REQUESTS_10MIN,
    PARTITION_ENTITIES_S,
    QUEUE_MESSAGES_S,
    RECONCILES_PER_DAY,
    RUSH,
)

DAY_S, HOUR_S = 86_400, 3_600
DAYS_PER_MONTH = 730 / 24  # Azure prices a month as 730 hours


# -- counted: one operation's cost per mailbox (docs/benchmarks.md) -------------------------------
@dataclass(frozen=True)
class Op:
    graph: float  # Graph requests
    table_tx: float  # billed table transactions (an entity group transaction is one)
    entities: float  # entities read, written or returned: what the scalability targets count
    queue_puts: float  # messages calsync sends
    queue_tx: float  # every queue request but idle polls (the trigger's gets and deletes too)
    executions: float  # function executions

    def __add__(self, other: Op) -> Op:
        return Op(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    def __mul__(self, k: float) -> Op:
        return Op(*(getattr(self, f.name) * k for f in fields(self)))


ZERO = Op(0, 0, 0, 0, 0, 0)

# "Capacity model", the "after" column at 80a2a24 — the last full per-operation row the docs give
# (pre-#27) — except entities, which are "Enterprise scale (#27)" at c33caea. c33caea's point
# reads of the Addresses index add about one table transaction per round with items (~30 a day,
# +3 %), not counted, so table tx is slightly low.
COUNTED: dict[str, Op] = {
    "idle reconcile round": Op(1.05, 3.55, 5.45, 0.10, 0.40, 0.15),
    "push (new)": Op(2.00, 24.20, 27.0, 1.00, 3.00, 2.50),  # the push and its echo round
    "Outlook change, one at a time": Op(1.00, 23.10, 29.1, 2.00, 6.05, 3.00),
    "Outlook change, all at once": Op(1.45, 23.25, 30.0, 2.00, 6.00, 2.05),  # 20 mailboxes of one org
    "push (move), one at a time": Op(2.00, 23.00, 26.0, 1.00, 3.00, 3.00),
    # Not in the docs: the rush hour's simultaneous moves are taken as one-at-a-time ones.
    "push (move), all at once": Op(2.00, 23.00, 26.0, 1.00, 3.00, 3.00),
    "subscription renewal": Op(1.00, 6.05, 7.00, 1.00, 3.05, 1.05),
}
DOCUMENTED_DAY = Op(141, 1_042, 1_374, 60, 191, 102)  # the "one mailbox's day" rows, same commits
BENCH_ORG = 20  # the capacity bench links its mailboxes into one org of 20

# Per mailbox-hour of the rush on mailbox-sync: 2,000 messages/s allowed 800,000 mailboxes
# ("Capacity model", 80a2a24) — every round with items is one message (6 changes + 3 echoes).
MAILBOX_SYNC_PUTS_RUSH = QUEUE_MESSAGES_S * HOUR_S / 800_000
# Per mailbox-hour of the rush on its org's busiest partition, Feed (PK = org): 2,000 entities/s
# allowed 107,303 mailboxes in one org ("Enterprise scale (#27)", c33caea).
FEED_ENTITIES_RUSH = PARTITION_ENTITIES_S * HOUR_S / 107_303

# The reconcile pass: the per-org GET /subscriptions (orphans) pages 100 subscriptions ("Reconcile",
# 2026-11-23); a batch message holds 50 mailboxes (shared/service/reconcile_rounds.py) and reads
# its 50 links from the org's Workers partition once; the fan-out of 10,000 mailboxes took 19.5 s
# ("Throughput for #15", 5873941).
SUBSCRIPTIONS_PAGE = 100
RECONCILE_BATCH = 50
FANOUT_S_PER_MAILBOX = 19.5 / 10_000
FUNCTION_TIMEOUT_S = 600  # host.json functionTimeout
TODO_DELTA_PER_RECONCILE = 1.00  # To Do delta calls per task list per reconcile ("Tasks and free/busy", a103dc9)

# Idle polls per instance: 13 queue triggers (functions/*.py) at the template's
# maxPollingInterval 10 s (infra/main.bicep), 2 s in host.json.
QUEUE_TRIGGERS = 13
POLL_INTERVAL_S = {"template 10 s": 10.0, "host.json 2 s": 2.0}

# -- one instance's throughput (docs/benchmarks.md; the 2-core machine, the host near one core) --
THROUGHPUT = {
    "idle rounds": 10_000 / 64.9,  # "Throughput for #15": 10,000 idle mailboxes in 64.9 s (5873941)
    "rounds with items": 200.0,  # "Capacity model": the 1,000-mailbox mode kept up at 200/s (80a2a24)
    "acks": 300.0,  # "Inbound" (2026-11-23): 300/s comfortably; 782/s is the p99 < 1 s ceiling (80a2a24)
    # Not measured alone: taken as a round with items (one signed POST or one push, a few table calls).
    "webhook deliveries": 200.0,
    "pushes": 200.0,
    "renewals": 200.0,
}
ACKS_CEILING = 782.0
WORK: dict[str, dict[str, float]] = {  # what each counted operation makes an instance do
    "idle reconcile round": {"idle rounds": 1},
    "push (new)": {"pushes": 1, "acks": 1, "rounds with items": 1},
    "Outlook change, one at a time": {"acks": 1, "rounds with items": 1, "webhook deliveries": 1},
    "Outlook change, all at once": {"acks": 1, "rounds with items": 1, "webhook deliveries": 1},
    "push (move), one at a time": {"pushes": 1, "acks": 1, "rounds with items": 1},
    "push (move), all at once": {"pushes": 1, "acks": 1, "rounds with items": 1},
    "subscription renewal": {"renewals": 1},
}

# -- telemetry (docs/benchmarks.md "Telemetry", #26, 2026-12-06; rows per trace) ------------------
# High: the spans counted per trace — an idle reconcile of 4 mailboxes made 81 (its timer and
# fan-out shared by only 4, so high for orgs of 100), an Outlook edit 34, a push 14 plus its echo
# round (not counted; taken as an edit's 34). Low: one span per counted request and execution.
SPANS_HIGH = {
    "idle reconcile round": 81 / 4,
    "push (new)": 14 + 34,
    "Outlook change, one at a time": 34,
    "Outlook change, all at once": 34,
    "push (move), one at a time": 14 + 34,
    "push (move), all at once": 14 + 34,
}
ROW_KB = (0.5, 1.0)  # "~0.5–1 KB per dependency row" (same section)
# Not sampled by CALSYNC_TRACE_SAMPLING_RATIO (estimate, to check in Azure): the host's
# "Executing"/"Executed" log lines at host.json's Function: Information, and calsync's one
# info line per round with items.
HOST_LOG_ROWS_PER_EXECUTION = 2
CALSYNC_LOG_ROWS_PER_ROUND = 1

# -- Azure (docs/scale.md gives the source of each) ------------------------------------------------
HEADROOM = 0.7  # plan accounts and queues at 70 % of a target: targets, not guarantees
INSTANCE_GB = 2048 / 1024  # infra/main.bicep instanceMemoryMB 2048 (1 core); billed GB = 1,024 MB
TEMPLATE_MAX_INSTANCES = 40  # infra/main.bicep maximumInstanceCount
FLEX_MAX_INSTANCES = 1_000  # flex-consumption-plan.md
REGION_CORES = 250  # per subscription and region, all Flex apps (flex-consumption-plan.md)
UTILIZATION = (1.0, 0.5)  # share of an instance's billed (active) time at the measured throughput

# USD, pay-as-you-go, East US (Standard LRS for storage).
FLEX_GB_S = 0.000026  # On Demand Execution Time
FLEX_EXECUTIONS = 0.000004 / 10  # On Demand Total Executions, per execution
FLEX_FREE_GB_S, FLEX_FREE_EXECUTIONS = 100_000, 250_000  # a month (North Europe source)
TABLE_TX = 0.00036 / 10_000  # unsourced, to confirm
QUEUE_TX = 0.004 / 10_000  # Queues v2 LRS, Class 1 and Class 2 alike (weakly sourced)
DATA_GB_MONTH = 0.045  # LRS data stored
LOG_GB = 2.30  # Analytics Logs ingestion
LOG_FREE_GB = 5  # a month

# Stored per mailbox after a year — rough, not counted: ~2,000 events in the 395-day delta window
# (5 new a day) at ~3 rows each (EventIndex, Seen, Target), a year of feed at 20 changes a day
# (nothing prunes the feed), ~1 KB an entity (the targets' 1 KiB).
STORED_GB_PER_MAILBOX = (2_000 * 3 + 20 * 365) * 1_000 / 1e9


@dataclass
class Inputs:
    ops: dict[str, Op]
    bench_org: int
    polls_per_instance_s: dict[str, float]
    mailbox_sync_puts_rush: float  # per mailbox-hour
    feed_entities_rush: float  # per mailbox-hour, the org's busiest partition
    source: str


def documented() -> Inputs:
    polls = {k: QUEUE_TRIGGERS / s for k, s in POLL_INTERVAL_S.items()}
    return Inputs(
        COUNTED,
        BENCH_ORG,
        polls,
        MAILBOX_SYNC_PUTS_RUSH,
        FEED_ENTITIES_RUSH,
        "docs/benchmarks.md (80a2a24; entities c33caea)",
    )


def from_capacity_json(path: Path) -> Inputs:
    """The counts of one bench/capacity.py run (its --json file), through its own Model."""
    raw = json.loads(path.read_text())
    phases = [capacity.Phase(**p) for p in raw["phases"]]
    idle = capacity.Phase(**raw["idle"])
    model = capacity.Model(phases, idle, raw["meta"])
    ops: dict[str, Op] = {}
    for p in phases:
        m = model.metrics(p)
        ops[p.name] = Op(m["graph"], m["table tx"], m["entities"], m["queue puts"], m["queue tx"], m["executions"])
    ops.setdefault("push (move), all at once", ops["push (move), one at a time"])
    rush = model.weighted(capacity.RUSH_HOUR)
    shared = [v for k, v in rush.items() if k.startswith("shared:")]
    queues = max(len(model.meta.get("listening_queues", [])), 1)
    # Measured at the bench's interval on the queues it listened to; scaled to 13 queues and each interval.
    bench_s = sum(int(x) * m for x, m in zip(capacity.POLL_INTERVAL.split(":"), (3600, 60, 1), strict=True))
    measured = idle.polls / idle.elapsed_s
    polls = {k: measured * bench_s / s * QUEUE_TRIGGERS / queues for k, s in POLL_INTERVAL_S.items()}
    return Inputs(
        ops,
        model.n,
        polls,
        rush.get("puts:mailbox-sync", 0.0),
        max(shared, default=0.0),
        f"{path} (capacity bench at {raw['meta'].get('revision', '?')}, org of {model.n})",
    )


# -- the model -------------------------------------------------------------------------------------
def subscription_pages(org: int) -> float:
    return math.ceil(org / SUBSCRIPTIONS_PAGE)


def at_org_size(inp: Inputs, org: int) -> dict[str, Op]:
    """The counts with the reconcile's per-org Graph request (GET /subscriptions, a page per 100
    subscriptions) spread over an org of this size instead of the bench's."""
    idle = inp.ops["idle reconcile round"]
    graph = idle.graph - subscription_pages(inp.bench_org) / inp.bench_org + subscription_pages(org) / org
    return {**inp.ops, "idle reconcile round": replace(idle, graph=graph)}


def mix(ops: dict[str, Op], weights: dict[str, float]) -> Op:
    return sum((ops[name] * n for name, n in weights.items()), ZERO)


def work(weights: dict[str, float]) -> dict[str, float]:
    out: dict[str, float] = dict.fromkeys(THROUGHPUT, 0.0)
    for name, n in weights.items():
        for kind, k in WORK[name].items():
            out[kind] += n * k
    return out


def instance_seconds(weights: dict[str, float]) -> float:
    return sum(n / THROUGHPUT[kind] for kind, n in work(weights).items())


def spans(ops: dict[str, Op], weights: dict[str, float]) -> tuple[float, float, float]:
    """Sampled rows (low, high) and rows no sampling ratio removes, for these operations."""
    low = high = unsampled = 0.0
    for name, n in weights.items():
        op = ops[name]
        counted = op.table_tx + op.queue_tx + op.graph + op.executions
        low += n * counted
        high += n * SPANS_HIGH.get(name, counted)
        rounds = WORK[name].get("rounds with items", 0)
        unsampled += n * (HOST_LOG_ROWS_PER_EXECUTION * op.executions + CALSYNC_LOG_ROWS_PER_ROUND * rounds)
    return low, high, unsampled


# -- printing --------------------------------------------------------------------------------------
def table(head: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    cells = [list(head), *([str(c) for c in r] for r in rows)]
    widths = [max(len(r[i]) for r in cells) for i in range(len(head))]
    line = [
        "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
        for r in cells
    ]
    return [line[0], "-" * len(line[0]), *line[1:]]


def n0(x: float) -> str:
    return f"{x:,.0f}"


def n1(x: float) -> str:
    return f"{x:,.1f}"


def pct(x: float) -> str:
    return f"{100 * x:.1f} %" if x >= 0.01 else f"{100 * x:.2f} %"


def usd(x: float) -> str:
    return f"${x:.4f}" if x < 1 else f"${x:,.0f}"


def report(inp: Inputs, mailboxes: int, orgs: int, org_sizes: list[int], sampling: list[float]) -> list[str]:
    org = mailboxes // orgs
    ops = at_org_size(inp, org)
    day, rush = mix(ops, capacity.DAY), mix(ops, capacity.RUSH_HOUR)
    out = [
        f"calsync at {mailboxes:,} mailboxes in {orgs:,} orgs of {org:,} — counts from {inp.source}",
        f"day: {capacity.CHANGES_PER_DAY} Outlook changes, {capacity.PUSHES_PER_DAY} pushes, {RECONCILES_PER_DAY} "
        f"reconciles, {capacity.RENEWALS_PER_DAY:.2f} renewals per mailbox; rush hour: {RUSH:.0%} of a day's "
        "changes and pushes in one hour, every mailbox at once, 4 reconciles",
        "",
    ]

    # One mailbox: the counted day (org of the bench) against the documented row, and the rush hour.
    bench_day = mix(inp.ops, capacity.DAY)
    out += table(
        ("per mailbox", "Graph", "table tx", "entities", "queue msgs", "queue tx", "executions"),
        [
            ("day, counted mix (bench org)", *(n0(getattr(bench_day, f.name)) for f in fields(Op))),
            ("day, documented row", *(n0(getattr(DOCUMENTED_DAY, f.name)) for f in fields(Op))),
            (f"day, orgs of {org:,}", *(n1(getattr(day, f.name)) for f in fields(Op))),
            ("rush hour", *(n1(getattr(rush, f.name)) for f in fields(Op))),
        ],
    )

    # Instances: one instance's measured throughput per kind of work.
    wd, wr = work(capacity.DAY), work(capacity.RUSH_HOUR)
    need_day = {k: mailboxes * n / DAY_S / THROUGHPUT[k] for k, n in wd.items()}
    need_rush = {k: mailboxes * n / HOUR_S / THROUGHPUT[k] for k, n in wr.items()}
    inst_day, inst_rush = sum(need_day.values()), sum(need_rush.values())
    out += ["", "INSTANCES (2,048 MB, 1 core; all at the measured throughput — a floor)"]
    out += table(
        ("work", "per instance /s", "day /s", "instances", "rush /s", "instances"),
        [
            (
                k,
                n0(THROUGHPUT[k]),
                n0(mailboxes * wd[k] / DAY_S),
                n1(need_day[k]),
                n0(mailboxes * wr[k] / HOUR_S),
                n1(need_rush[k]),
            )
            for k in THROUGHPUT
        ]
        + [("total", "", "", n1(inst_day), "", n1(inst_rush))],
    )
    acks_fast = need_rush["acks"] * THROUGHPUT["acks"] / ACKS_CEILING
    out += [
        f"rush at {UTILIZATION[1]:.0%} utilisation: {inst_rush / UTILIZATION[1]:.0f} instances; with acks at the "
        f"{ACKS_CEILING:.0f}/s ceiling {inst_rush - need_rush['acks'] + acks_fast:.1f}. Template maximum "
        f"{TEMPLATE_MAX_INSTANCES}, Flex maximum {FLEX_MAX_INSTANCES:,} per app, {REGION_CORES} cores "
        f"(= {REGION_CORES} such instances) per subscription and region.",
    ]

    # Storage: per-account targets.
    polls = inp.polls_per_instance_s
    out += [
        "",
        "STORAGE (targets: 20,000 requests/s per account, 20,000 entities/s per account for tables, "
        "2,000 entities/s per partition, 2,000 messages/s per queue)",
    ]
    rows = []
    for label, per, n_inst in (("day average", DAY_S, inst_day), ("rush hour", HOUR_S, inst_rush)):
        unit = day if per == DAY_S else rush
        table_req = mailboxes * unit.table_tx / per
        queue_req = mailboxes * unit.queue_tx / per + n_inst * polls["template 10 s"]
        entities = mailboxes * unit.entities / per
        rows.append(
            (
                label,
                n0(table_req),
                n0(queue_req),
                n0(table_req + queue_req),
                n0(entities),
                f"{(table_req + queue_req) / ACCOUNT_REQUESTS_S:.2f} / {entities / ACCOUNT_ENTITIES_S:.2f}",
                str(math.ceil(max(table_req + queue_req, entities) / (ACCOUNT_REQUESTS_S * HEADROOM))),
            )
        )
    out += table(
        ("", "table tx/s", "queue tx/s", "requests/s", "entities/s", "× one account (req / ent)", "accounts at 70 %"),
        rows,
    )
    rush_tables = max(mailboxes * rush.table_tx, mailboxes * rush.entities) / HOUR_S
    rush_queues = mailboxes * rush.queue_tx / HOUR_S + inst_rush * polls["template 10 s"]
    sync_rate = mailboxes * inp.mailbox_sync_puts_rush / HOUR_S
    per_account = ACCOUNT_ENTITIES_S * HOUR_S / rush.entities
    out += [
        f"tables alone, rush: {n0(rush_tables)}/s = {rush_tables / ACCOUNT_ENTITIES_S:.1f} accounts at the target, "
        f"{math.ceil(rush_tables / (ACCOUNT_ENTITIES_S * HEADROOM))} at 70 %; one account holds "
        f"{n0(per_account)} mailboxes in the rush ({n0(per_account * HEADROOM)} at 70 %), whatever the org size.",
        f"queues alone, rush: {n0(rush_queues)} requests/s = {rush_queues / ACCOUNT_REQUESTS_S:.2f} of one account; "
        f"mailbox-sync takes {n0(sync_rate)} messages/s = {sync_rate / QUEUE_MESSAGES_S:.2f} of one queue's "
        f"{QUEUE_MESSAGES_S:,} ({math.ceil(sync_rate / (QUEUE_MESSAGES_S * HEADROOM))} queues at 70 %).",
        "idle polls per instance: "
        + ", ".join(f"{k}: {v:.1f}/s = {n0(v * DAY_S)}/day" for k, v in polls.items())
        + f"; at {inst_day:.0f} instances and 10 s that is {inst_day * polls['template 10 s'] * DAY_S / mailboxes:.1f}"
        " polls per mailbox-day.",
    ]

    # The reconcile pass: every mailbox's idle round is queued at once, every 15 minutes.
    idle = ops["idle reconcile round"]
    pace = mailboxes / (DAY_S / RECONCILES_PER_DAY)
    out += ["", "THE RECONCILE PASS (every mailbox queued at once; drained as fast as instances allow)"]
    out += table(
        ("instances on the batches", "rounds/s", "pass takes", "Graph/s", "storage req/s", "entities/s"),
        [
            (
                f"{n:.1f}" + (" (paced over 15 min)" if n == pace / THROUGHPUT["idle rounds"] else ""),
                n0(r := n * THROUGHPUT["idle rounds"]),
                f"{mailboxes / r:,.0f} s",
                f"{n0(r * idle.graph)} ({pct(r * idle.graph / GRAPH_APP_REQUESTS_S)})",
                n0(r * (idle.table_tx + idle.queue_tx)),
                n0(r * idle.entities),
            )
            for n in (pace / THROUGHPUT["idle rounds"], 20.0, float(TEMPLATE_MAX_INSTANCES))
        ],
    )
    hot = PARTITION_ENTITIES_S / (THROUGHPUT["idle rounds"])
    out.append(
        f"one org's Workers partition: each batch reads its {RECONCILE_BATCH} links there, so {hot:.0f} instances "
        f"on one org's batches reach its {PARTITION_ENTITIES_S:,} entities/s (orgs over "
        f"{math.ceil(hot) * RECONCILE_BATCH:,} mailboxes have that many batches)."
    )

    # Graph.
    app_day, app_rush = mailboxes * day.graph / DAY_S, mailboxes * rush.graph / HOUR_S
    todo_day = app_day + mailboxes * RECONCILES_PER_DAY * TODO_DELTA_PER_RECONCILE / DAY_S
    todo_rush = app_rush + mailboxes * RECONCILES_PER_DAY / 24 * TODO_DELTA_PER_RECONCILE / HOUR_S
    out += [
        "",
        f"GRAPH (per app, all tenants: {GRAPH_APP_REQUESTS_S * 10:,.0f} per 10 s = {GRAPH_APP_REQUESTS_S:,.0f}/s)",
    ]
    out += table(
        ("", "day /s", "of the limit", "rush /s", "of the limit"),
        [
            (
                "calendars",
                n0(app_day),
                pct(app_day / GRAPH_APP_REQUESTS_S),
                n0(app_rush),
                pct(app_rush / GRAPH_APP_REQUESTS_S),
            ),
            (
                "+ To Do for every worker",
                n0(todo_day),
                pct(todo_day / GRAPH_APP_REQUESTS_S),
                n0(todo_rush),
                pct(todo_rush / GRAPH_APP_REQUESTS_S),
            ),
        ],
    )
    # During a pass drained by the template's 40 instances, on top of the rest of the rush.
    reconciles_rush = mailboxes * idle.graph * RECONCILES_PER_DAY / 24 / HOUR_S
    burst = app_rush - reconciles_rush + TEMPLATE_MAX_INSTANCES * THROUGHPUT["idle rounds"] * idle.graph
    out.append(
        f"a reconcile pass drained by {TEMPLATE_MAX_INSTANCES} instances in the rush: {n0(burst)}/s "
        f"({pct(burst / GRAPH_APP_REQUESTS_S)}) while it lasts; the To Do list rounds the same timer queues "
        "add up to one request per worker more."
    )
    per_10min = rush.graph / 6
    out += [
        f"per app and mailbox: {per_10min:.1f} requests per 10 min in the rush against "
        f"{GRAPH_MAILBOX_REQUESTS_10MIN:,} ({pct(per_10min / GRAPH_MAILBOX_REQUESTS_10MIN)}); a round's requests "
        "run one after another (limit: 4 at once).",
        f"per tenant (an org of {org:,}): {org * rush.graph / HOUR_S:.1f} requests/s in the rush — Graph documents "
        "no per-tenant limit for Outlook resources.",
    ]

    # Org sizes: what changes and what does not.
    out += ["", "ORG SIZE (same mailboxes; per-account figures do not change since c33caea)"]
    rows = []
    for size in org_sizes:
        o = at_org_size(inp, size)
        d, r = mix(o, capacity.DAY), mix(o, capacity.RUSH_HOUR)
        feed = size * inp.feed_entities_rush / HOUR_S
        rows.append(
            (
                f"{size:,}",
                n0(mailboxes // size),
                n1(d.graph),
                pct(mailboxes * r.graph / HOUR_S / GRAPH_APP_REQUESTS_S),
                f"{n1(size * r.graph / HOUR_S)}/s",
                f"{n0(feed)}/s ({pct(feed / PARTITION_ENTITIES_S)})",
                f"{subscription_pages(size) * RECONCILES_PER_DAY:,.0f}",
                f"{size * FANOUT_S_PER_MAILBOX:.1f} s",
                n0(ACCOUNT_ENTITIES_S * HOUR_S / r.entities),
            )
        )
    out += table(
        (
            "mailboxes per org",
            "orgs",
            "Graph/mbx-day",
            "app limit, rush",
            "per tenant, rush",
            "Feed partition, rush",
            "orphan pages/day",
            "fan-out run",
            "mailboxes per account",
        ),
        rows,
    )
    out.append(
        f"one org's Feed partition ({PARTITION_ENTITIES_S:,} entities/s) holds "
        f"{n0(PARTITION_ENTITIES_S * HOUR_S / inp.feed_entities_rush)} mailboxes in its rush; one org's fan-out "
        f"reaches functionTimeout ({FUNCTION_TIMEOUT_S} s) at {n0(FUNCTION_TIMEOUT_S / FANOUT_S_PER_MAILBOX)} "
        "mailboxes."
    )

    out += ["", *binds_first(inp, rush, inst_rush / mailboxes)]
    out += ["", *cost(inp, ops, mailboxes, inst_day, sampling)]
    return out


def binds_first(inp: Inputs, rush: Op, instances_per_mailbox: float) -> list[str]:
    """Mailboxes each limit allows in the rush hour, the first to bind at the top."""
    graph_todo = rush.graph + RECONCILES_PER_DAY / 24 * TODO_DELTA_PER_RECONCILE
    full, part = UTILIZATION

    def held(instances: float, utilised: float) -> float:  # an instance is one core at 2,048 MB
        return instances * utilised / instances_per_mailbox

    limits = [
        ("one storage account, 20,000 entities/s", ACCOUNT_ENTITIES_S * HOUR_S / rush.entities),
        ("one storage account, 20,000 requests/s", ACCOUNT_REQUESTS_S * HOUR_S / (rush.table_tx + rush.queue_tx)),
        (f"{TEMPLATE_MAX_INSTANCES} instances (template), {part:.0%} utilised", held(TEMPLATE_MAX_INSTANCES, part)),
        (f"{TEMPLATE_MAX_INSTANCES} instances (template), {full:.0%} utilised", held(TEMPLATE_MAX_INSTANCES, full)),
        ("one queue (mailbox-sync), 2,000 messages/s", QUEUE_MESSAGES_S * HOUR_S / inp.mailbox_sync_puts_rush),
        ("Graph per app, with To Do for every worker", GRAPH_APP_REQUESTS_S * HOUR_S / graph_todo),
        ("Graph per app, 130,000 per 10 s", GRAPH_APP_REQUESTS_S * HOUR_S / rush.graph),
        (f"{REGION_CORES} cores per region, {part:.0%} utilised", held(REGION_CORES, part)),
        (f"Flex {FLEX_MAX_INSTANCES:,} instances, {part:.0%} utilised", held(FLEX_MAX_INSTANCES, part)),
    ]
    return [
        "WHAT BINDS FIRST (rush hour; one org's own Feed partition allows "
        f"{n0(PARTITION_ENTITIES_S * HOUR_S / inp.feed_entities_rush)} mailboxes in that org)",
        *table(("limit", "mailboxes allowed"), [(k, n0(v)) for k, v in sorted(limits, key=lambda kv: kv[1])]),
    ]


def cost(inp: Inputs, ops: dict[str, Op], mailboxes: int, inst_day: float, sampling: list[float]) -> list[str]:
    """Per mailbox-month at East US pay-as-you-go prices; free grants taken off the whole fleet."""
    day = mix(ops, capacity.DAY)
    months = DAYS_PER_MONTH

    def fleet(per_mailbox: float, free: float, price: float) -> float:
        return max(0.0, per_mailbox * mailboxes - free) * price / mailboxes

    gb_s = instance_seconds(capacity.DAY) * INSTANCE_GB * months
    compute = [fleet(gb_s / u, FLEX_FREE_GB_S, FLEX_GB_S) for u in UTILIZATION]
    executions = fleet(day.executions * months, FLEX_FREE_EXECUTIONS, FLEX_EXECUTIONS)
    polls = inst_day * inp.polls_per_instance_s["template 10 s"] * DAY_S / mailboxes
    tables = day.table_tx * months * TABLE_TX
    queues = (day.queue_tx + polls) * months * QUEUE_TX
    data = STORED_GB_PER_MAILBOX * DATA_GB_MONTH
    low, high, unsampled = spans(ops, capacity.DAY)

    def telemetry(ratio: float) -> tuple[float, float, float, float]:
        gb_low = (low * ratio + unsampled) * months * ROW_KB[0] * 1_000 / 1e9
        gb_high = (high * ratio + unsampled) * months * ROW_KB[1] * 1_000 / 1e9
        return gb_low, gb_high, fleet(gb_low, LOG_FREE_GB, LOG_GB), fleet(gb_high, LOG_FREE_GB, LOG_GB)

    fixed = [c + executions + tables + queues + data for c in compute]
    out = [f"COST PER MAILBOX-MONTH (USD, East US, pay-as-you-go, LRS; {months:.2f} days; no always-ready instance)"]
    out += table(
        ("item", "quantity per mailbox-month", "USD"),
        [
            (
                f"Flex execution time, {UTILIZATION[0]:.0%} / {UTILIZATION[1]:.0%} utilisation",
                f"{gb_s:.1f} / {gb_s / UTILIZATION[1]:.1f} GB-s",
                f"{usd(compute[0])} / {usd(compute[1])}",
            ),
            ("Flex executions", n0(day.executions * months), usd(executions)),
            ("table transactions", n0(day.table_tx * months), usd(tables)),
            ("queue transactions (+ idle polls)", f"{n0(day.queue_tx * months)} (+{polls * months:.0f})", usd(queues)),
            ("table data (rough, after a year)", f"{STORED_GB_PER_MAILBOX * 1_000:.0f} MB", usd(data)),
            ("subtotal without telemetry", "", f"{usd(fixed[0])} / {usd(fixed[1])}"),
        ],
    )
    rows = []
    for ratio in sampling:
        gb_low, gb_high, c_low, c_high = telemetry(ratio)
        rows.append(
            (
                f"{ratio:g}",
                f"{gb_low * 1_000:.1f}–{gb_high * 1_000:.1f} MB",
                f"{usd(c_low)}–{usd(c_high)}",
                f"{usd(fixed[0] + c_low)}–{usd(fixed[1] + c_high)}",
                f"{usd((fixed[0] + c_low) * mailboxes)}–{usd((fixed[1] + c_high) * mailboxes)}",
            )
        )
    out += [
        "",
        f"telemetry: {low:.0f}–{high:.0f} sampled rows a mailbox-day (traces) and {unsampled:.0f} not sampled "
        f"(host and calsync log lines, estimate); {ROW_KB[0]}–{ROW_KB[1]} KB a row",
    ]
    out += table(
        (
            "CALSYNC_TRACE_SAMPLING_RATIO",
            "ingested",
            "telemetry",
            "total per mailbox-month",
            f"{mailboxes:,} mailboxes",
        ),
        rows,
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mailboxes", type=int, default=1_000_000)
    parser.add_argument("--orgs", type=int, default=10_000)
    parser.add_argument("--org-sizes", default="100,1000,5000,20000", help="mailboxes per org, comma-separated")
    parser.add_argument("--sampling", default="1,0.1,0.01", help="trace sampling ratios, comma-separated")
    parser.add_argument("--capacity-json", type=Path, help="counts from a bench/capacity.py --json file")
    args = parser.parse_args()
    inp = from_capacity_json(args.capacity_json) if args.capacity_json else documented()
    sizes = [int(s) for s in args.org_sizes.split(",")]
    ratios = [float(s) for s in args.sampling.split(",")]
    print("\n".join(report(inp, args.mailboxes, args.orgs, sizes, ratios)))


if __name__ == "__main__":
    main()
