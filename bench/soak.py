"""Soak test over the real stack: two app instances, two orgs on one tenant, faults, crashes.

    .venv/bin/python -m bench.soak [--minutes 10] [--seed N] [--instances 2]

Azurite, the Graph emulator and two local hosts (`devtools.host`) on the same storage and
Graph, behind a round-robin proxy (bench/proxy.py) that is CALSYNC_PUBLIC_BASE_URL: Graph's
notifications and the bench's requests alternate between the instances, both consume the
queues and both run the timers, as in Azure after a scale-out.

Two orgs of the booking product share one Microsoft 365 tenant and link overlapping
mailboxes (three workers each, two of them the same people, and a shared room). In phases,
a seeded random workload runs: the booking product creates, moves, retitles, re-attends and
deletes appointments (some online meetings), creates recurring series and moves, retitles
or cancels single occurrences, pushes, edits, moves and deletes To Do tasks, and asks for
availability (HTTP API); people in Outlook edit, move and delete our events, edit or cancel
one occurrence of our series, answer meetings and make events of their own, and people in
To Do retitle, complete or delete our tasks (plain Graph calls to the emulator, as another
application); meanwhile the emulator throttles, fails, loses answers, drops notifications,
expires delta tokens and removes subscriptions, and an app instance is SIGKILLed and
restarted. Between phases an admin links, unlinks or relinks people and rooms and switches
syncMode; before that, the stack is brought to quiescence on positive signals (every
answer in, the queues empty, a reconcile run and every linked mailbox's round after it)
and the invariants are checked against the emulator and the API:

- no mailbox holds two live events (or series) for one appointment, no To Do list two
  tasks for one task;
- every Outlook and To Do change appears in its org's feed once (twoWay: as it happened,
  occurrences as `occurrence_updated`/`occurrence_deleted`, tasks as `task_*`; oneWay: as
  `restored` — an occurrence's apart, as `oneway_occurrence`), none is an echo of calsync's
  own write, no org sees another's bookings or tasks;
- each calendar holds exactly what the booking product wants (after it applied the feed):
  events, series masters and their occurrences, online meetings' join URLs; each To Do
  exactly its tasks;
- every answer is 2xx or 4xx problem+json (availability: everyone asked is answered), and a
  request with bad input answers a 4xx problem+json and changes nothing.

The parts, each readable alone, are mixins over one state object:

| module | what |
| --- | --- |
| `soak.py` | this driver: phases, settle, the report and the CLI |
| `soak_state.py` | shared state, bookkeeping, HTTP, setup, quiescence signals |
| `soak_world.py` | the model: what the booking wants, what calsync should show (no I/O) |
| `soak_workload.py` | the booking product's steps and the admin's; the step table |
| `soak_people.py` | people's steps in Outlook |
| `soak_tasks.py` | tasks: the booking product's steps and people's in To Do |
| `soak_faults.py` | fault injection and clearing |
| `soak_feed.py` | feed invariants, judged as each change comes |
| `soak_invariants.py` | settle; links, tasks, availability and bad-input invariants |
| `soak_calendars.py` | calendar, series and online-meeting invariants |

Prints steps, invariant checks, faults by kind, instance kills and failures (details in
.run/soak-report.json, a trace in .run/soak-trace.log; the app's logs in
.run/bench-host-<n>.log).
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections import Counter
from typing import Any

import httpx

from bench.soak_calendars import Calendars
from bench.soak_faults import FAULT_KINDS, Faults
from bench.soak_feed import Feed
from bench.soak_invariants import Invariants
from bench.soak_people import People
from bench.soak_state import APP_ID, DOMAIN, HOST_ENV, NORMAL_FAULTS, PEOPLE, ROOMS, now
from bench.soak_tasks import Tasks
from bench.soak_workload import Workload
from bench.stack import cluster
from devtools.services import ROOT

__all__ = ["APP_ID", "DOMAIN", "FAULT_KINDS", "HOST_ENV", "NORMAL_FAULTS", "PEOPLE", "ROOMS", "Soak", "main", "now"]


class Soak(Workload, People, Tasks, Faults, Feed, Invariants, Calendars):
    """The whole soak: the workload's, the faults' and the invariants' mixins on one state."""

    def phase(self, seconds: float, n: int) -> None:
        start = time.monotonic()
        kinds = self.schedule_faults(seconds, n)
        print(f"phase: {seconds:.0f} s, faults {', '.join(kinds)}", flush=True)
        while time.monotonic() - start < seconds:
            self.tick()
            if not self.step():
                time.sleep(0.1)

    def run(self) -> None:
        self.setup()
        self.settle("setup")
        end = time.monotonic() + self.seconds
        n = 0
        while time.monotonic() < end:
            n += 1
            left = end - time.monotonic()
            self.phase(min(left, self.rng.uniform(35, 70)), n)
            self.settle(f"check {n}")
            if time.monotonic() < end:
                for _ in range(self.rng.randint(1, 2)):
                    self.admin()
                self.settle(f"check {n} (after admin)")

    def report(self, seed: int, elapsed: float) -> dict[str, Any]:
        poison = {k: v for k, v in self.queue_counts().items() if k.endswith("-poison") and v}
        return {
            "seed": seed,
            "minutes": round(elapsed / 60, 1),
            "instances": len(self.s.instances),
            "steps": sum(self.steps.values()),
            "stepsByKind": dict(self.steps.most_common()),
            "checks": sum(self.checks.values()),
            "checksByKind": dict(self.checks.most_common()),
            "faults": sum(self.faults.values()),
            "faultsByKind": dict(self.faults.most_common()),
            "instanceKills": len(self.kills),
            "instanceStarts": [i.starts for i in self.s.instances],
            "proxy": httpx.get(self.s.proxy_stats_url).json(),
            "stats": dict(self.stats.most_common()),
            "poisonQueues": poison,
            "feedChanges": {o.id: len(o.feed) for o in self.orgs.values()},
            "feeds": {o.id: o.feed for o in self.orgs.values()},
            "failures": len(self.failures),
            "failuresByKind": dict(Counter(f["kind"] for f in self.failures).most_common()),
            "failureDetails": self.failures,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--instances", type=int, default=2)
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1_000_000)
    print(f"soak: seed {seed}, {args.minutes:g} min, {args.instances} instances", flush=True)
    started = time.monotonic()
    with cluster(args.instances, **HOST_ENV) as s:
        soak = Soak(s, random.Random(seed), args.minutes * 60)
        try:
            soak.run()
        finally:
            report = soak.report(seed, time.monotonic() - started)
            (ROOT / ".run").mkdir(exist_ok=True)
            (ROOT / ".run" / "soak-report.json").write_text(json.dumps(report, indent=2, default=str))
    print()
    print(f"seed                 {seed}")
    print(f"duration             {report['minutes']} min ({args.instances} instances)")
    print(f"steps run            {report['steps']}  {report['stepsByKind']}")
    print(f"invariant checks     {report['checks']}  {report['checksByKind']}")
    print(f"faults injected      {report['faults']}  {report['faultsByKind']}")
    print(f"instance kills       {report['instanceKills']}")
    print(f"feed changes         {report['feedChanges']}")
    print(f"other                {report['stats']}; poison {report['poisonQueues'] or 'none'}")
    print(f"failures             {report['failures']}  {report['failuresByKind']}")
    for f in report["failureDetails"][:30]:
        print(f"  - {f['kind']}: {f['message']}")
    print("(details: .run/soak-report.json; app logs: .run/bench-host-<n>.log)")


if __name__ == "__main__":
    main()
