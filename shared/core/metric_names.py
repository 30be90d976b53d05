"""Every metric calsync records: its name, kind, unit, attributes and meaning.

One declaration for the instruments (shared.adapters.telemetry builds them), the use cases
that record them (through the `Metrics` port) and the queries in docs/operations.md.
Attributes are small closed sets — never an id of an org, a person or a mailbox — so
Application Insights' customMetrics stays cheap and holds no personal data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Metric:
    name: str
    kind: Literal["counter", "histogram"]
    unit: str
    description: str
    attributes: tuple[str, ...] = ()

    def points(self, given: dict[str, str]) -> dict[str, str]:
        """`given` as the attributes of a point; an undeclared one is a programming error
        (the attributes are closed sets), the same with telemetry on or off."""
        unknown = set(given) - set(self.attributes)
        if unknown:
            raise ValueError(f"{self.name} has no attribute {sorted(unknown)}")
        return {k: str(v) for k, v in given.items()}


NOTIFICATIONS = Metric(
    "calsync.notifications",
    "counter",
    "{notification}",
    "Graph notifications answered; outcome accepted (a round asked for or already queued) or ignored "
    "(unknown subscription, wrong clientState or tenant)",
    ("kind", "outcome"),
)
ROUNDS = Metric(
    "calsync.rounds",
    "counter",
    "{round}",
    "Delta rounds run (mailboxes: kind worker or resource; To Do: kind tasks); outcome ok, "
    "skipped (not linked, sync off, or the mailbox failed for a reason a retry cannot fix), "
    "covered (a notification's round made unnecessary by a round that began after it), "
    "conflict (lost a race to another writer and read again) or failed",
    ("kind", "outcome"),
)
ROUND_ITEMS = Metric("calsync.round.items", "histogram", "{item}", "Items a delta round read from Graph", ("kind",))
CHANGES = Metric("calsync.changes", "counter", "{change}", "Changes reported in the change feed, by type", ("type",))
ECHOES = Metric(
    "calsync.echoes_suppressed",
    "counter",
    "{item}",
    "Delta items not reported because calsync had seen that version: its own writes coming back "
    "(the changeKey it stored) or a stale read of an earlier write of its own",
    ("kind",),
)
GRAPH_REQUESTS = Metric(
    "calsync.graph.requests",
    "counter",
    "{request}",
    "Graph requests (one per logical request, retries inside), by route pattern and final status",
    ("method", "route", "status"),
)
GRAPH_THROTTLED = Metric(
    "calsync.graph.throttled",
    "counter",
    "{response}",
    "429 answers from Graph, each one (also those the SDK's retry then got past)",
    ("method", "route"),
)
WEBHOOK_DELIVERIES = Metric(
    "calsync.webhook.deliveries",
    "counter",
    "{delivery}",
    "Deliveries of change batches to the booking product's webhook; outcome delivered or failed",
    ("outcome",),
)
POISON = Metric(
    "calsync.poison_messages",
    "counter",
    "{message}",
    "Queue messages that failed their last try: the host moves them to <queue>-poison",
    ("queue",),
)
LINKS = Metric(
    "calsync.links",
    "counter",
    "{link}",
    "Links seen by each org's reconcile pass, by kind and health state (sum one reconcile "
    "interval to get the current count per state)",
    ("kind", "state"),
)
FEED_LATENCY = Metric(
    "calsync.notification_to_feed",
    "histogram",
    "s",
    "From Graph's notification reaching calsync to the change it caused being in the feed",
    ("kind",),
)

ALL: tuple[Metric, ...] = (
    NOTIFICATIONS,
    ROUNDS,
    ROUND_ITEMS,
    CHANGES,
    ECHOES,
    GRAPH_REQUESTS,
    GRAPH_THROTTLED,
    WEBHOOK_DELIVERIES,
    POISON,
    LINKS,
    FEED_LATENCY,
)
