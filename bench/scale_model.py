"""A million mailboxes on paper (issue #27, goal 2): storage accounts, instances, Graph against
its limits and the cost per mailbox-month, from the operations the capacity bench counted.

    .venv/bin/python -m bench.scale_model [--mailboxes 1000000] [--orgs 10000]
        [--org-sizes 100,1000,5000,20000] [--sampling 1,0.1,0.01] [--capacity-json .run/capacity.json]
    .venv/bin/python -m bench.scale_model --by-org-size cap_1000.json cap_5000.json cap_20000.json

Pure arithmetic: nothing is started or measured here. The counted inputs are the constants
below, each with the run or docs/benchmarks.md section and commit it was measured at; with
--capacity-json the per-operation counts, the idle polls, the queue and partition loads and the
bench's org size come from a bench/capacity.py run instead. The day and the rush hour are
bench/capacity.py's (its DAY and RUSH_HOUR weights, imported). --by-org-size prints the
per-operation counts of several runs (`bench.capacity --org-size N`) side by side, to show what
grows with the org. docs/scale.md is this model as a page, with the source of every limit and
price.
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

# Counted by `bench.capacity --mailboxes 20` at f773801 (2026-12-06; acks through output
# bindings, coalescing at the consumer, subscription checks in the batches, idle stamps in one
# transaction per batch, the feed counter taken in turns): per operation and mailbox, as its
# report prints them. Every notification is one mailbox-sync message and one sync_mailbox
# execution; in these phases each mailbox gets one notification, so none is "covered".
COUNTED: dict[str, Op] = {
    "idle reconcile round": Op(1.05, 1.95, 4.70, 0.10, 0.40, 0.15),
    "push (new)": Op(2.00, 24.15, 25.0, 1.00, 3.00, 2.50),  # the push and its echo round
    "Outlook change, one at a time": Op(1.00, 22.10, 27.1, 2.00, 6.05, 3.00),
    "Outlook change, all at once": Op(1.00, 17.15, 23.1, 2.00, 6.00, 2.05),  # 20 mailboxes of one org
    "push (move), one at a time": Op(2.00, 23.00, 24.0, 1.00, 3.00, 3.00),
    "push (move), all at once": Op(2.00, 23.00, 24.0, 1.00, 3.00, 2.55),
    "subscription renewal": Op(1.00, 6.05, 7.00, 1.00, 3.05, 1.05),
}
DOCUMENTED_DAY = Op(141, 868, 1_242, 60, 191, 102)  # the same run's "one mailbox's day" line
BENCH_ORG = 20  # the capacity bench links its mailboxes into one org of 20

# The same run, per mailbox-hour of the rush: 9 messages on mailbox-sync (every round with items
# is one: 6 changes + 3 echoes), and 57.2 entities on the org's busiest partition, Feed (PK = org).
MAILBOX_SYNC_PUTS_RUSH = 9.0
FEED_ENTITIES_RUSH = 57.2
# The same run, per idle reconcile round: entities on the org's Workers partition (PK = org) — the
# fan-out's link query, the batch's query of its 50 links and its one transaction of their stamps.
WORKERS_ENTITIES_IDLE = 3.05

# The reconcile pass: the per-org GET /subscriptions (orphans) pages 100 subscriptions ("Reconcile",
# 2026-11-23); a batch message holds 50 mailboxes (shared/service/reconcile_rounds.py); the fan-out
# of 10,000 mailboxes ran 7.5 s ("Enterprise scale (#27)", goal 4, 03530d4).
SUBSCRIPTIONS_PAGE = 100
RECONCILE_BATCH = 50
BATCHES_PER_SECOND = 5  # one org's batches become visible 5 a second (shared/service/maintenance.py, c46b74f)
FANOUT_S_PER_MAILBOX = 7.5 / 10_000
FUNCTION_TIMEOUT_S = 600  # host.json functionTimeout
TODO_DELTA_PER_RECONCILE = 1.00  # To Do delta calls per task list per reconcile ("Tasks and free/busy", a103dc9)

# Idle polls per instance: 13 queue triggers (functions/*.py) at the template's
# maxPollingInterval 10 s (infra/main.bicep), 2 s in host.json.
QUEUE_TRIGGERS = 13
POLL_INTERVAL_S = {"template 10 s": 10.0, "host.json 2 s": 2.0}

# -- one instance's throughput (docs/benchmarks.md; the 2-core machine, the host near one core) --
THROUGHPUT = {
    # "Enterprise scale (#27)", goal 4: 10,000 idle mailboxes in 46.5 s, 3.6 ms of host CPU each (03530d4)
    "idle rounds": 10_000 / 46.5,
    "rounds with items": 200.0,  # "Capacity model": the 1,000-mailbox mode kept up at 200/s (80a2a24)
    # Goal 3 (f773801, 2026-12-06): acknowledgements alone, wrk closed loop, 465/s at p99 55.5 ms; the
    # process spends ~2 ms an ack (worker 0.11 ms, the local host's Storage SDK write of the output
    # message 1.33 ms: the Functions host's work in Azure, on the same instance).
    "acks": 465.0,
    # Not measured alone: taken as a round with items (one signed POST or one push, a few table calls).
    "webhook deliveries": 200.0,
    "pushes": 200.0,
    # `bench.capacity --org-size 5000` at f773801 renewed 5,000 subscriptions in 211.8 s (the emulator
    # included): far below a round's rate, but 0.52 a mailbox-day.
    "renewals": 5_000 / 211.8,
}
ACKS_CEILING = 500.0  # goal 3: open loop at 500/s, acknowledgements alone, p50 3.6 ms, p99 61.8 ms
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
# round (not counted; taken as an edit's 34). Counted before #27's goals 3–4 took storage calls
# out of acks and idle rounds, so high again. Low: one span per counted request and execution.
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
    workers_entities_idle: float  # per idle reconcile round, on the org's Workers partition
    source: str


def documented() -> Inputs:
    polls = {k: QUEUE_TRIGGERS / s for k, s in POLL_INTERVAL_S.items()}
    return Inputs(
        COUNTED,
        BENCH_ORG,
        polls,
        MAILBOX_SYNC_PUTS_RUSH,
        FEED_ENTITIES_RUSH,
        WORKERS_ENTITIES_IDLE,
        "the capacity bench at f773801 (2026-12-06), org of 20",
    )


def load_run(path: Path) -> tuple[capacity.Model, dict[str, dict[str, float]]]:
    """One bench/capacity.py run (its --json file) through its own Model, and each phase's metrics
    per operation. A timer phase's `ops` is the org's size (it acts on every linked mailbox), the
    others' the mailboxes that acted: Model.metrics divides by it."""
    raw = json.loads(path.read_text())
    phases = [capacity.Phase(**p) for p in raw["phases"]]
    model = capacity.Model(phases, capacity.Phase(**raw["idle"]), raw["meta"])
    return model, {p.name: model.metrics(p) for p in phases}


def org_of(model: capacity.Model) -> int:
    return int(model.meta.get("org_size") or model.n)  # org_size: runs with --org-size (cde1494 on)


def from_capacity_json(path: Path) -> Inputs:
    """The counts of one bench/capacity.py run (its --json file), through its own Model."""
    model, metrics = load_run(path)
    idle = model.idle
    ops = {
        name: Op(m["graph"], m["table tx"], m["entities"], m["queue puts"], m["queue tx"], m["executions"])
        for name, m in metrics.items()
    }
    ops.setdefault("push (move), all at once", ops["push (move), one at a time"])
    note = ""
    if "subscription renewal" not in ops:  # a run with --skip-renewal (aa66c13)
        ops["subscription renewal"] = COUNTED["subscription renewal"]
        note = "; renewal from the defaults"
    rush = model.weighted(capacity.RUSH_HOUR)
    shared = [v for k, v in rush.items() if k.startswith("shared:")]
    workers = [v for k, v in metrics["idle reconcile round"].items() if k.startswith("shared:") and "Workers|" in k]
    queues = max(len(model.meta.get("listening_queues", [])), 1)
    # Measured at the bench's interval on the queues it listened to; scaled to 13 queues and each interval.
    bench_s = sum(int(x) * m for x, m in zip(capacity.POLL_INTERVAL.split(":"), (3600, 60, 1), strict=True))
    measured = idle.polls / idle.elapsed_s
    polls = {k: measured * bench_s / s * QUEUE_TRIGGERS / queues for k, s in POLL_INTERVAL_S.items()}
    return Inputs(
        ops,
        org_of(model),
        polls,
        rush.get("puts:mailbox-sync", 0.0),
        max(shared, default=0.0),
        max(workers, default=0.0),
        f"{path} (capacity bench at {model.meta.get('revision', '?')}, org of {org_of(model)}{note})",
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
            ("day, f773801's report (org of 20)", *(n0(getattr(DOCUMENTED_DAY, f.name)) for f in fields(Op))),
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
                f"{n0(r * idle.entities)} ({r * idle.entities / ACCOUNT_ENTITIES_S:.2f} accounts)",
            )
            for n in (pace / THROUGHPUT["idle rounds"], 20.0, float(TEMPLATE_MAX_INSTANCES))
        ],
    )
    # The batches' share of the org's Workers partition: all of it but the fan-out's link query
    # (one entity a mailbox, before the batches are sent).
    batch_workers = max(inp.workers_entities_idle - 1, 0.0)
    hot = PARTITION_ENTITIES_S / (THROUGHPUT["idle rounds"] * batch_workers) if batch_workers else math.inf
    full = ACCOUNT_ENTITIES_S / (THROUGHPUT["idle rounds"] * idle.entities)
    org_rate = BATCHES_PER_SECOND * RECONCILE_BATCH  # mailboxes/s of one org's pass, however many instances
    out += [
        f"one account's {ACCOUNT_ENTITIES_S:,} entities/s: {full:.1f} instances on the batches reach it with the pass "
        f"alone ({full * HEADROOM:.1f} at 70 %).",
        f"one org's Workers partition: a batch puts {batch_workers:.2f} entities a mailbox there (its query of "
        f"{RECONCILE_BATCH} links, their stamps in one transaction); {hot:.1f} instances on one org's batches would "
        f"reach its {PARTITION_ENTITIES_S:,} entities/s, but they start {BATCHES_PER_SECOND} a second: at most "
        f"{org_rate:,} mailboxes/s, {n0(org_rate * batch_workers)} entities/s "
        f"({pct(org_rate * batch_workers / PARTITION_ENTITIES_S)}); an org of 20,000 starts its pass in "
        f"{20_000 / org_rate:.0f} s. Orgs of up to {BATCHES_PER_SECOND * RECONCILE_BATCH} start at once, so a pass "
        f"over many small orgs is drained as fast as the instances go (the table).",
    ]

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
    out += ["", "ORG SIZE (same mailboxes; the per-operation counts taken as the bench's org's)"]
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
    out += ["", *stamps(inp, ops, mailboxes, inst_rush / mailboxes)]
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


def stamps(inp: Inputs, ops: dict[str, Op], mailboxes: int, instances_per_mailbox: float) -> list[str]:
    """Whole deployments, each with its own storage account, orgs placed on one and kept: how many
    mailboxes a stamp takes at 70 % of its account's target in the rush, and what that stamp needs."""
    rush, idle = mix(ops, capacity.RUSH_HOUR), ops["idle reconcile round"]
    polls = inp.polls_per_instance_s["template 10 s"] * HOUR_S * instances_per_mailbox
    requests = rush.table_tx + rush.queue_tx + polls  # per mailbox-hour
    target = ACCOUNT_ENTITIES_S * HEADROOM * HOUR_S  # = ACCOUNT_REQUESTS_S's 70 %: both 20,000/s
    size = min(target / rush.entities, ACCOUNT_REQUESTS_S * HEADROOM * HOUR_S / requests)
    binding = "entities" if rush.entities >= requests else "requests"
    n = math.ceil(mailboxes / size)
    each = mailboxes / n
    inst = each * instances_per_mailbox
    cap = TEMPLATE_MAX_INSTANCES * THROUGHPUT["idle rounds"]
    return [
        f"STAMPS (one deployment and storage account each, at {HEADROOM:.0%} of the account's target in the rush)",
        f"one stamp takes {n0(size)} mailboxes ({binding} bind); {mailboxes:,} take {n} stamps of {n0(each)}.",
        f"each stamp's rush: {inst:.1f} instances at the measured throughput, {inst / UTILIZATION[1]:.1f} at "
        f"{UTILIZATION[1]:.0%} utilisation (cap {TEMPLATE_MAX_INSTANCES}); mailbox-sync "
        f"{n0(each * inp.mailbox_sync_puts_rush / HOUR_S)} messages/s; Graph {n0(each * rush.graph / HOUR_S)}/s "
        f"({pct(each * rush.graph / HOUR_S / GRAPH_APP_REQUESTS_S)} of the app's limit, shared by all stamps).",
        f"its reconcile pass: paced over 15 min {n0(each / 900)} rounds/s, "
        f"{n0(each / 900 * idle.entities)} entities/s; drained by the cap's {TEMPLATE_MAX_INSTANCES} instances "
        f"{n0(cap)} rounds/s for {each / cap:.0f} s, {n0(cap * idle.entities)} entities/s = "
        f"{cap * idle.entities / ACCOUNT_ENTITIES_S:.1f}× the account's target.",
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


def by_org_size(paths: Sequence[Path]) -> list[str]:
    """Per operation and mailbox, side by side for runs of several org sizes: entities, table
    transactions and Graph requests, and the entities on the org's own partitions (PK = org)."""
    runs = sorted((load_run(p) for p in paths), key=lambda run: org_of(run[0]))
    names = list(runs[0][1])

    def org_partitions(m: dict[str, float]) -> float:
        return sum(v for k, v in m.items() if k.startswith("shared:") and k.endswith("|bench"))  # its org's id

    head = ["per operation, per mailbox"] + [
        f"org of {org_of(model):,} ({model.meta.get('revision', '?')})" for model, _ in runs
    ]
    out = ["BY ORG SIZE: entities / table tx / Graph (entities on the org's partitions)"]
    out += table(
        head,
        [
            (
                name,
                *(
                    f"{m[name]['entities']:.2f} / {m[name]['table tx']:.2f} / {m[name]['graph']:.3f} "
                    f"({org_partitions(m[name]):.2f})"
                    if name in m
                    else "-"
                    for _, m in runs
                ),
            )
            for name in names
        ],
    )
    out.append(
        "timer phases (idle reconcile round, subscription renewal) act on every linked mailbox of the org, "
        "the others on the mailboxes that acted (" + ", ".join(f"{model.n}" for model, _ in runs) + ")."
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mailboxes", type=int, default=1_000_000)
    parser.add_argument("--orgs", type=int, default=10_000)
    parser.add_argument("--org-sizes", default="100,1000,5000,20000", help="mailboxes per org, comma-separated")
    parser.add_argument("--sampling", default="1,0.1,0.01", help="trace sampling ratios, comma-separated")
    parser.add_argument("--capacity-json", type=Path, help="counts from a bench/capacity.py --json file")
    parser.add_argument("--by-org-size", type=Path, nargs="+", metavar="JSON", help="compare runs of several org sizes")
    args = parser.parse_args()
    if args.by_org_size:
        print("\n".join(by_org_size(args.by_org_size)))
        return
    inp = from_capacity_json(args.capacity_json) if args.capacity_json else documented()
    sizes = [int(s) for s in args.org_sizes.split(",")]
    ratios = [float(s) for s in args.sampling.split(",")]
    print("\n".join(report(inp, args.mailboxes, args.orgs, sizes, ratios)))


if __name__ == "__main__":
    main()
