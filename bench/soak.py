"""Soak test over the real stack: two app instances, two orgs on one tenant, faults, crashes.

    .venv/bin/python -m bench.soak [--minutes 10] [--seed N] [--instances 2]

Azurite, the Graph emulator and two local hosts (`devtools.host`) on the same storage and
Graph, behind a round-robin proxy (bench/proxy.py) that is CALSYNC_PUBLIC_BASE_URL: Graph's
notifications and the bench's requests alternate between the instances, both consume the
queues and both run the timers, as in Azure after a scale-out.

Two orgs of the booking product share one Microsoft 365 tenant and link overlapping
mailboxes (three workers each, two of them the same people, and a shared room). In phases,
a seeded random workload runs: the booking product creates, moves, retitles, re-attends and
deletes appointments (HTTP API); people in Outlook edit, move and delete them, answer
meetings and make events of their own (plain Graph calls to the emulator, as another
application); meanwhile the emulator throttles, fails, loses answers, drops notifications,
expires delta tokens and removes subscriptions, and an app instance is SIGKILLed and
restarted. Between phases an admin links, unlinks or relinks people and rooms and switches
syncMode; before that, the stack is brought to quiescence on positive signals (every
answer in, the queues empty, a reconcile run and every linked mailbox's round after it)
and the invariants are checked against the emulator and the API:

- no mailbox holds two live events for one appointment;
- every Outlook change appears in its org's feed (twoWay: as it happened; oneWay: as
  `restored`), none is an echo of calsync's own write, no org sees another's bookings;
- each calendar holds exactly what the booking product wants (after it applied the feed);
- a request with bad input answers a 4xx problem+json and changes nothing.

Prints steps, invariant checks, faults by kind, instance kills and failures (details in
.run/soak-report.json; the app's logs in .run/bench-host-<n>.log).
"""

from __future__ import annotations

import argparse
import json
import random
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from azure.storage.queue import QueueServiceClient

from bench.soak_world import (
    ONE_WAY,
    PROPERTY_ID,
    TWO_WAY,
    Appt,
    Expect,
    Mailbox,
    Op,
    OrgModel,
    OutlookEvent,
    event_content,
    expected,
    tag,
    utc,
    zulu,
)
from bench.stack import ClusterStack, cluster
from devtools.services import ROOT

APP_ID = "50a50a50-0000-4000-8000-000000000001"  # "Outlook": another application's budget
PEOPLE = ("ada", "bob", "cyd", "dee", "eve")
ROOMS = ("room0", "room1")
DOMAIN = "bench.test"
HOST_ENV = {
    # A killed instance's running messages come back after 30 s, not 10 minutes.
    "CALSYNC_HOST_LEASE_SECONDS": "30",
    # Both instances run both timers, often: reconcile every 30 s, renewal every minute,
    # and every subscription is due (they last 70 h).
    "CALSYNC_RECONCILE_SCHEDULE": "0,30 * * * * *",
    "CALSYNC_RENEW_SCHEDULE": "15 * * * * *",
    "CALSYNC_RENEW_HORIZON_HOURS": "70",
    "AzureFunctionsJobHost__extensions__queues__visibilityTimeout": "00:00:02",
}
NORMAL_FAULTS = {
    "latencyMs": 0,
    "errorRate": 0,
    "failNext": [],
    "deliverNotifications": True,
    "throttle": {"requests": 10000, "windowSeconds": 600, "concurrency": 4},
    "timeScale": 0.05,
}
FAULT_KINDS = (
    "throttle_storm",
    "429",
    "5xx",
    "lost_answer",
    "dropped_notifications",
    "delta_expired",
    "subscription_removed",
    "lifecycle_missed",
    "kill",
)


def now() -> datetime:
    return datetime.now(UTC)


class Soak:
    def __init__(self, s: ClusterStack, rng: random.Random, seconds: float) -> None:
        self.s = s
        self.rng = rng
        self.seconds = seconds
        self.steps: Counter[str] = Counter()
        self.checks: Counter[str] = Counter()
        self.faults: Counter[str] = Counter()
        self.stats: Counter[str] = Counter()
        self.failures: list[dict[str, Any]] = []
        self.seen_failures: set[tuple[str, str]] = set()
        self.kills: list[float] = []  # monotonic times of SIGKILLs
        self.boxes: dict[str, Mailbox] = {}
        self.by_id: dict[str, Mailbox] = {}
        self.orgs: dict[str, OrgModel] = {}
        self.open: list[Expect] = []
        self.closed: list[Expect] = []
        self.waiters: list[tuple[str, Any, Any, float]] = []  # (desc, check, done, deadline)
        self.pending: set[tuple[str, str]] = set()
        self.oevents: dict[tuple[str, str], OutlookEvent] = {}
        self.event_owner: dict[tuple[str, str], str] = {}  # (mailbox, event id) → "org/appointment"
        self.ical_owner: dict[str, str] = {}
        self.responses: set[tuple[str, str, str, str]] = set()  # (org, appt, address, response) done
        self.scheduled: list[tuple[float, str, Any]] = []
        self.restarts: list[threading.Thread] = []
        self.serial = 0
        self.last_feed = 0.0
        self.last_pending = 0.0
        self.queues = QueueServiceClient.from_connection_string(s.storage)
        self.tenant = ""
        self.gc: httpx.Client | None = None
        (ROOT / ".run").mkdir(exist_ok=True)
        self.trace = open(ROOT / ".run" / "soak-trace.log", "w")  # noqa: SIM115 - for the whole run

    # -- bookkeeping ----------------------------------------------------------------------
    def log(self, line: str) -> None:
        self.trace.write(f"{datetime.now(UTC).isoformat(timespec='milliseconds')} {line}\n")
        self.trace.flush()

    def fail(self, kind: str, message: str, **context: Any) -> None:
        self.log(f"FAILURE {kind}: {message}")
        if (kind, message) in self.seen_failures:  # the same finding again (a later check): once
            self.stats["failures seen again at a later check"] += 1
            return
        self.seen_failures.add((kind, message))
        if "change" in context:
            context["evidence"] = self.evidence(context["change"])
        self.failures.append({"kind": kind, "message": message, "at": zulu(now()), **context})
        print(f"  FAILURE {kind}: {message}", flush=True)

    def evidence(self, change: dict[str, Any]) -> dict[str, Any]:
        """For a bad feed change: the event as Graph has it now, and the booking it belongs to."""
        out: dict[str, Any] = {}
        try:
            expand = f"singleValueExtendedProperties($filter=id eq '{PROPERTY_ID}')"
            r = self.g(
                "GET",
                f"/users/{change.get('mailbox')}/calendar/events/{change.get('eventId')}",
                params={"$expand": expand},
            )
            event = r.json() if r.status_code == 200 else {"status": r.status_code}
            out["event"] = {
                k: event.get(k)
                for k in (
                    "subject",
                    "isOrganizer",
                    "isCancelled",
                    "transactionId",
                    "iCalUId",
                    "singleValueExtendedProperties",
                    "status",
                )
            }
            value = tag(event) or self.ical_owner.get(event.get("iCalUId") or "")
            if value:
                org_id, appt = value.split("/", 1)
                out["booking"] = self.api("GET", f"/orgs/{org_id}/appointments/{appt}").json()
        except Exception as exc:  # evidence is best effort
            out["error"] = repr(exc)
        return out

    def check(self, kind: str, ok: bool, message: str, **context: Any) -> bool:
        self.checks[kind] += 1
        if not ok:
            self.fail(kind, message, **context)
        return ok

    def next_id(self) -> int:
        self.serial += 1
        return self.serial

    def killed_since(self, t: float) -> bool:
        return any(k >= t - 1 for k in self.kills)

    # -- HTTP -----------------------------------------------------------------------------------
    def api(self, method: str, path: str, *, json: Any = None, params: dict | None = None) -> httpx.Response:
        """The app through the proxy; retried when the instance died under the request."""
        for _ in range(40):
            try:
                r = self.s.api.request(method, path, json=json, params=params)
            except httpx.TransportError:
                self.stats["api retries (transport)"] += 1
                time.sleep(0.5)
                continue
            problem = "problem+json" in r.headers.get("content-type", "")
            if r.status_code in (502, 503) and not problem:
                self.stats["api retries (instance gone)"] += 1
                time.sleep(0.5)
                continue
            if r.status_code >= 500:
                self.fail("http_5xx", f"{method} {path} answered {r.status_code}: {r.text[:300]}")
                time.sleep(0.5)
                continue
            return r
        raise RuntimeError(f"{method} {path}: no answer")

    def g(self, method: str, path: str, *, json: Any = None, params: dict | None = None) -> httpx.Response:
        """A person in Outlook: plain Graph calls as another application. Throttled or failed
        requests were not carried out (the bench's rules target the app's paths), so retry."""
        assert self.gc is not None
        for _ in range(200):
            try:
                r = self.gc.request(method, path, json=json, params=params)
            except httpx.TransportError:
                time.sleep(0.3)
                continue
            if r.status_code in (429, 503, 504):
                time.sleep(min(2.0, float(r.headers.get("Retry-After") or 0.3)))
                continue
            return r
        raise RuntimeError(f"Graph {method} {path}: no answer")

    # -- setup ----------------------------------------------------------------------------------
    def setup(self) -> None:
        users = [{"userPrincipalName": f"{p}@{DOMAIN}", "displayName": f"{p.title()} Soak"} for p in PEOPLE]
        users += [
            {
                "userPrincipalName": f"{r}@{DOMAIN}",
                "displayName": f"Room {r[-1]}",
                "userPurpose": "room",
                "capacity": 8,
            }
            for r in ROOMS
        ]
        self.tenant, ids = self.s.tenant(users)
        for u in users:
            upn = u["userPrincipalName"]
            box = Mailbox(upn, ids[upn], u["displayName"], u.get("userPurpose") == "room")
            self.boxes[upn] = box
            self.by_id[box.id] = box
        self.s.graph.post("/_emulator/faults", json=NORMAL_FAULTS)
        self.gc = self.s.graph_as(self.tenant, APP_ID)
        self.gc.headers["Prefer"] = 'IdType="ImmutableId", outlook.timezone="UTC", outlook.body-content-type="text"'
        a = OrgModel("org-a", "A:", use_organizer=True)
        a.workers = {f"w-{p}": f"{p}@{DOMAIN}" for p in ("ada", "bob", "cyd", "eve")}
        a.resources = {"r0": f"room0@{DOMAIN}", "r1": f"room1@{DOMAIN}"}
        a.room_names = {"r0": "Room 0", "r1": "Room 1"}
        b = OrgModel("org-b", "B:", use_organizer=False)
        b.workers = {"ada": f"ada@{DOMAIN}", "bob": f"bob@{DOMAIN}", "dee": f"dee@{DOMAIN}"}
        b.resources = {"rm0": f"room0@{DOMAIN}"}
        b.room_names = {"rm0": "Room 0"}
        for org in (a, b):
            self.orgs[org.id] = org
            r = self.api("PUT", f"/orgs/{org.id}", json={"m365TenantId": self.tenant, "displayName": org.id})
            assert r.status_code == 200 and r.json()["status"] == "connected", r.text
            r = self.api("PUT", f"/orgs/{org.id}/settings", json={"useOrganizer": org.use_organizer})
            assert r.status_code == 200, r.text
            org.modes.append((now(), TWO_WAY))
        started = now()
        for org in (a, b):
            for worker in org.workers:
                if worker == "w-eve":
                    self.api("PUT", f"/orgs/{org.id}/workers/{worker}", json={"displayName": "Eve (not linked)"})
                else:
                    self.link(org, "worker", worker)
            for resource in org.resources:
                self.link(org, "resource", resource)
        self.wait_rounds(started, "setup")

    def link(self, org: OrgModel, kind: str, ident: str) -> bool:
        upn = org.upn(kind, ident)
        body: dict[str, Any] = {"m365Account": upn} if kind == "worker" else {"mailbox": upn}
        if kind == "resource":
            body["displayName"] = org.room_names[ident]
        for _ in range(5):
            r = self.api("PUT", f"/orgs/{org.id}/{kind}s/{ident}", json=body)
            view = r.json()
            if r.status_code == 200 and view.get("status") == "linked":
                break
            self.stats["link retried"] += 1
            time.sleep(1)
        else:
            self.fail("link_failed", f"{org.id} {kind} {ident}: {r.status_code} {r.text[:300]}")
            return False
        org.linked.add((kind, ident))
        box = self.boxes[upn]
        org.ever_linked.add(box.id)
        for ev in self.oevents.values():
            if ev.mailbox == box.id and not ev.deleted:
                ev.known_by.add(org.id)
        return True

    def unlink(self, org: OrgModel, kind: str, ident: str) -> None:
        body = {"m365Account": ""} if kind == "worker" else {"mailbox": ""}
        r = self.api("PUT", f"/orgs/{org.id}/{kind}s/{ident}", json=body)
        self.check("admin", r.status_code == 200 and r.json().get("status") == "unlinked", f"unlink: {r.text[:300]}")
        org.linked.discard((kind, ident))

    # -- the app's state -------------------------------------------------------------------------
    def queue_counts(self) -> dict[str, int]:
        out = {}
        for q in self.queues.list_queues():
            out[q.name] = self.queues.get_queue_client(q.name).get_queue_properties().approximate_message_count
        return out

    def queues_idle(self) -> bool:
        for _ in range(2):
            counts = self.queue_counts()
            if any(n for name, n in counts.items() if not name.endswith("-poison")):
                return False
            time.sleep(0.3)
        return True

    def links(self, org: OrgModel) -> list[dict[str, Any]]:
        out = []
        for kind in ("workers", "resources"):
            out += self.api("GET", f"/orgs/{org.id}/{kind}", params={"limit": 1000}).json()[kind]
        return out

    def wait_rounds(self, since: datetime, why: str, timeout: float = 240) -> bool:
        """Every linked mailbox of every org has had a round that began after `since`, and no
        work is queued or running: a positive signal that what happened before is processed."""
        deadline = time.monotonic() + timeout
        while True:
            self.tick()
            late = []
            for org in self.orgs.values():
                for link in self.links(org):
                    if link["status"] == "linked":
                        synced = link.get("lastSyncAt")
                        if not synced or utc(synced) <= since:
                            late.append(f"{org.id}/{link.get('worker') or link.get('resource')}")
            if not late and not self.pending and self.queues_idle():
                return True
            if time.monotonic() > deadline:
                self.fail("settle_timeout", f"{why}: no round after {zulu(since)} for {late}; {self.queue_counts()}")
                return False
            time.sleep(0.5)

    # -- the feed -------------------------------------------------------------------------------
    def poll_feeds(self) -> None:
        self.last_feed = time.monotonic()
        for org in self.orgs.values():
            while True:
                params: dict[str, Any] = {"limit": 500}
                if org.cursor:
                    params["after"] = org.cursor
                page = self.api("GET", f"/orgs/{org.id}/changes", params=params).json()
                for change in page["changes"]:
                    org.feed.append(change)
                    self.log(
                        f"feed {org.id} {change['type']} {change['appointment']} "
                        f"{change.get('worker') or change.get('resource')} {self.name(change.get('mailbox'))} "
                        f"{(change.get('eventId') or '')[-10:]} {json.dumps(change.get('data'))[:160]}"
                    )
                    self.judge(org, change)
                org.cursor = page.get("next") or org.cursor
                if len(page["changes"]) < 500:
                    break

    def judge(self, org: OrgModel, c: dict[str, Any]) -> None:
        """One feed change: not another org's, explained by an Outlook action, never an echo."""
        kind, appointment = c.get("type"), c.get("appointment") or ""
        mailbox, event_id, data = c.get("mailbox") or "", c.get("eventId") or "", c.get("data") or {}
        ctx = {"org": org.id, "change": c}
        self.checks["feed: change not another org's"] += 1
        owner = self.event_owner.get((mailbox, event_id))
        others = [o for o in self.orgs.values() if o.id != org.id]
        leak = (
            mailbox not in org.ever_linked
            or (owner is not None and not owner.startswith(f"{org.id}/"))
            or any(str(data.get("title") or "").startswith(o.prefix) for o in others)
            or (
                kind == "created"
                and mailbox in self.by_id
                and self.by_id[mailbox].room
                and data.get("organizer") not in (None, self.by_id[mailbox].upn)
            )
        )
        if leak:
            self.fail(
                "feed_leak",
                f"{org.id}'s feed has a change about another org's booking: {kind} {appointment}",
                **ctx,
                owner=owner,
            )
            return
        mode = org.mode_at(utc(c["at"]))
        self.checks["feed: type fits syncMode"] += 1
        if (mode == ONE_WAY) != (kind == "restored"):
            self.fail("feed_mode", f"{kind} reported while {org.id} was {mode}", **ctx)
            return
        # Whose change: the mailbox's owner in this org (responses: whoever answered).
        self.checks["feed: change explained"] += 1
        if appointment.startswith("outlook-"):
            self.judge_outlook_event(org, c, ctx)
            return
        if appointment not in org.appts:
            self.fail("feed_unknown", f"{kind} for appointment {appointment!r} the booking product never made", **ctx)
            return
        if kind == "responded":
            if c.get("resource"):
                self.stats["room answers reported"] += 1  # rooms answer by their booking rules
                return
            if self.match(org, c):
                return
            key = (org.id, appointment, str(data.get("address")), str(data.get("response")))
            if key in self.responses and self.kills:
                self.stats["duplicate changes after a crash"] += 1
                return
            self.fail("feed_unexplained", f"responded for {appointment} that nobody answered", **ctx)
            return
        if kind in ("updated", "deleted", "restored"):
            if self.match(org, c):
                return
            dup = [e for e in self.closed if e.org == org.id and e.matches(c)]
            if dup and any(self.killed_since(e.made) for e in dup):
                self.stats["duplicate changes after a crash"] += 1
                return
            if dup:
                self.fail("feed_duplicate", f"{kind} of {appointment} reported twice without a crash (echo?)", **ctx)
            else:
                self.fail("feed_echo", f"{kind} of {appointment} without an Outlook change (echo?)", **ctx)
            return
        self.fail("feed_unexplained", f"unexpected change type {kind}", **ctx)

    def judge_outlook_event(self, org: OrgModel, c: dict[str, Any], ctx: dict[str, Any]) -> None:
        kind, mailbox, event_id, data = c["type"], c["mailbox"], c.get("eventId") or "", c.get("data") or {}
        ev = self.oevents.get((mailbox, event_id))
        if ev is None:
            self.fail("feed_unexplained", f"{kind} for an event nobody made in Outlook", **ctx)
            return
        # docs/api.md: a minted `outlook-…` id, stable: every report of the event names the same one.
        first = ev.ids.setdefault(org.id, c["appointment"])
        if not self.check(
            "feed: minted id stable",
            c["appointment"] == first,
            f"{c['appointment']} for an event first reported as {first}",
            **ctx,
        ):
            return
        self.match(org, c)
        if kind in ("created", "updated"):
            self.check(
                "feed: outlook event content",
                data.get("title") in ev.titles,
                f"{kind} says {data.get('title')!r}, the event was {ev.titles}",
                **ctx,
            )
        elif kind == "deleted":
            self.check("feed: outlook event content", ev.deleted, "deleted for an event that exists", **ctx)
        else:
            self.fail("feed_unexplained", f"{kind} for a personal event", **ctx)

    def match(self, org: OrgModel, c: dict[str, Any]) -> bool:
        for e in self.open:
            if e.org == org.id and e.matches(c):
                self.open.remove(e)
                self.closed.append(e)
                e.done = True
                self.checks["expected change seen"] += 1
                changed = set((c.get("data") or {}).get("changed") or [])
                if e.changed is not None:
                    self.check(
                        "feed: only what Outlook changed",
                        changed <= e.changed,
                        f"{c['type']} says {sorted(changed)} changed; Outlook changed {sorted(e.changed)}",
                        org=org.id,
                        change=c,
                    )
                op = e.op
                op.seen[org.id] = c
                if all(x.done for x in op.expects) and not op.finished:
                    op.finished = True
                    if op.after:
                        op.after(op.seen)
                return True
        return False

    def start_op(self, op: Op, expects: list[Expect], release: Any) -> None:
        """Register what an Outlook action must produce; `release` runs once all is seen (or
        at once when nothing is expected)."""
        op.expects = expects
        self.log(f"outlook {op.desc} → expect {[(e.org, e.types, e.want) for e in expects]}")
        for e in expects:
            e.op = op
        self.open.extend(expects)
        previous = op.after

        def after(seen: dict[str, dict[str, Any]]) -> None:
            if previous:
                previous(seen)
            else:
                release()

        op.after = after
        if not expects:
            op.finished = True
            release()

    # -- periodic work ------------------------------------------------------------------------------
    def tick(self) -> None:
        t = time.monotonic()
        for item in [x for x in self.scheduled if x[0] <= t]:
            self.scheduled.remove(item)
            item[2]()
        if t - self.last_feed > 0.5:
            self.poll_feeds()
        if t - self.last_pending > 1.0:
            self.last_pending = t
            self.poll_pending()
            self.poll_waiters()

    def poll_pending(self) -> None:
        for key in list(self.pending):
            org, appt = self.orgs[key[0]], self.orgs[key[0]].appts[key[1]]
            view = self.api("GET", f"/orgs/{org.id}/appointments/{appt.id}").json()
            states = [t["state"] for t in view.get("targets", [])]
            if "pending" in states:
                continue
            self.pending.discard(key)
            self.log(f"booking {org.id} {appt.id} settled: {states}")
            self.register(org, view)
            appt.pending, appt.busy = False, None
            if "failed" in states:
                self.stats["targets failed after retries (re-put)"] += 1
                self.put(org, appt, "retry failed")

    def poll_waiters(self) -> None:
        for item in list(self.waiters):
            desc, ok, done, deadline = item
            if ok():
                self.waiters.remove(item)
                done()
            elif time.monotonic() > deadline:
                self.waiters.remove(item)
                self.fail("restore_missing", desc)
                done()

    def register(self, org: OrgModel, view: dict[str, Any]) -> None:
        for t in view.get("targets", []):
            if t.get("eventId") and t.get("mailboxId"):
                self.event_owner[(t["mailboxId"], t["eventId"])] = f"{org.id}/{view['appointment']}"

    # -- the booking product ----------------------------------------------------------------------
    def put(self, org: OrgModel, appt: Appt, why: str) -> None:
        appt.busy = why
        r = self.api("PUT", f"/orgs/{org.id}/appointments/{appt.id}", json=appt.body())
        if not self.check("api: booking accepted", r.status_code in (200, 202), f"PUT {appt.id}: {r.text[:300]}"):
            appt.busy = None
            return
        appt.put_once = True
        self.answered(org, appt, r)

    def delete(self, org: OrgModel, appt: Appt, why: str) -> None:
        appt.busy = why
        r = self.api("DELETE", f"/orgs/{org.id}/appointments/{appt.id}")
        if not self.check("api: booking accepted", r.status_code in (200, 202), f"DELETE {appt.id}: {r.text[:300]}"):
            appt.busy = None
            return
        appt.deleted = True
        self.answered(org, appt, r)

    def name(self, mailbox: str | None) -> str:
        return self.by_id[mailbox].upn.split("@")[0] if mailbox in self.by_id else str(mailbox)

    def answered(self, org: OrgModel, appt: Appt, r: httpx.Response) -> None:
        view = r.json()
        self.log(
            f"booking {org.id} {appt.busy} {appt.id} → {r.status_code} "
            + " ".join(
                f"{self.name(t['mailboxId'])}:{t['role']}:{t['state']}:{(t['eventId'] or '')[-10:]}"
                for t in view.get("targets", [])
            )
            + f" | {json.dumps(appt.body())[:200]}"
        )
        self.register(org, view)
        if r.status_code == 202 or any(t["state"] == "pending" for t in view["targets"]):
            self.stats["booking answered 202"] += 1
            appt.pending = True
            self.pending.add((org.id, appt.id))
        else:
            appt.busy = None

    def free(self, org: OrgModel) -> list[Appt]:
        return [a for a in org.appts.values() if not a.deleted and a.busy is None and not a.pending]

    def when(self) -> tuple[datetime, datetime]:
        day = now().replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=self.rng.randint(1, 20))
        start = day + timedelta(hours=self.rng.randint(6, 17), minutes=self.rng.choice((0, 15, 30, 45)))
        return start, start + timedelta(minutes=self.rng.choice((30, 45, 60, 90)))

    def people(self, org: OrgModel, appt: Appt) -> None:
        workers = list(org.workers)
        appt.organizer = self.rng.choice(workers) if self.rng.random() < 0.85 else None
        others = [w for w in workers if w != appt.organizer]
        appt.attendees = self.rng.sample(others, self.rng.randint(0, min(2, len(others))))
        appt.resources = self.rng.sample(list(org.resources), self.rng.randint(0, min(1, len(org.resources))))
        appt.guests = [f"guest{self.next_id()}@example.com"] if self.rng.random() < 0.1 else []

    def op_book_create(self, org: OrgModel) -> bool:
        n = self.next_id()
        start, end = self.when()
        appt = Appt(org.id, f"a{n}", f"{org.prefix}a{n} v1", start, end, self.rng.choice(("UTC", "Europe/Oslo")))
        appt.location = "" if self.rng.random() < 0.5 else f"{org.prefix}loc{n}"
        self.people(org, appt)
        org.appts[appt.id] = appt
        self.put(org, appt, "create")
        return True

    def op_book_change(self, org: OrgModel, what: str) -> bool:
        free = self.free(org)
        if not free:
            return False
        appt = self.rng.choice(free)
        if what == "move":
            appt.start, appt.end = self.when()
        elif what == "retitle":
            appt.title = f"{org.prefix}{appt.id} v{self.next_id()}"
        elif what == "reattend":
            self.people(org, appt)
        elif what == "delete":
            self.delete(org, appt, "delete")
            return True
        self.put(org, appt, what)
        return True

    # -- people in Outlook ------------------------------------------------------------------------------
    def owner(self, org: OrgModel, mailbox: str) -> tuple[str, str] | None:
        return org.owners(self.boxes).get(mailbox)

    def pick_target(self, org: OrgModel, roles: tuple[str, ...]) -> tuple[Appt, dict[str, Any]] | None:
        free = self.free(org)
        self.rng.shuffle(free)
        for appt in free[:4]:
            view = self.api("GET", f"/orgs/{org.id}/appointments/{appt.id}").json()
            targets = [
                t for t in view.get("targets", []) if t["state"] == "synced" and t.get("eventId") and t["role"] in roles
            ]
            if targets:
                return appt, self.rng.choice(targets)
        return None

    def op_outlook_edit(self, org: OrgModel, what: str) -> bool:
        picked = self.pick_target(org, ("organizer", "copy", "resource"))
        if picked is None:
            return False
        appt, target = picked
        mailbox, event_id = target["mailboxId"], target["eventId"]
        n = self.next_id()
        if what == "title":
            patch: dict[str, Any] = {"subject": f"{org.prefix}{appt.id} outlook{n}"}
            fields = {"title"}
        elif what == "location":
            patch, fields = {"location": {"displayName": f"{org.prefix}outlook-room{n}"}}, {"location"}
        else:
            shift = timedelta(minutes=self.rng.choice((-120, -60, 30, 60, 24 * 60)))
            start, end = appt.start + shift, appt.end + shift
            patch = {
                "start": {"dateTime": zulu(start)[:19], "timeZone": "UTC"},
                "end": {"dateTime": zulu(end)[:19], "timeZone": "UTC"},
            }
            fields = {"start", "end"}
        r = self.g("PATCH", f"/users/{mailbox}/calendar/events/{event_id}", json=patch)
        if r.status_code == 404:
            return False
        if not self.check("graph: outlook action", r.status_code == 200, f"PATCH: {r.status_code} {r.text[:200]}"):
            return False
        after = event_content(r.json())
        appt.busy = "outlook"
        who = self.owner(org, mailbox)
        op = Op(f"{org.id}: outlook {what} of {appt.id} in {self.by_id[mailbox].upn}")
        if org.mode == TWO_WAY:
            want = {k: after[k] for k in ("title", "start", "end", "location")}
            types: tuple[str, ...] = ("updated",)
            op.after = lambda seen: self.apply_update(org, appt, seen[org.id])
        else:
            want, types = {"deleted": False}, ("restored",)
            op.after = lambda seen: self.wait_restored(org, appt, mailbox)
        e = Expect(org.id, types, mailbox, event_id, appt.id, want, op.desc, time.monotonic(), who, frozenset(fields))
        self.start_op(op, [e], lambda: None)
        return True

    def apply_update(self, org: OrgModel, appt: Appt, change: dict[str, Any]) -> None:
        """The booking product takes the Outlook edit (twoWay) and sends it back."""
        data = change["data"]
        changed = set(data.get("changed") or [])
        if "title" in changed:
            appt.title = data["title"]
        if "start" in changed:
            appt.start = utc(data["start"])
        if "end" in changed:
            appt.end = utc(data["end"])
        if "location" in changed:
            appt.location = data["location"]
        self.put(org, appt, "apply feed")

    def wait_restored(self, org: OrgModel, appt: Appt, mailbox: str) -> None:
        """oneWay: calsync puts the booking's version back; wait until the calendar shows it."""

        def ok() -> bool:
            want = expected(org, appt, self.boxes).get(mailbox)
            if want is None:
                return True
            view = self.api("GET", f"/orgs/{org.id}/appointments/{appt.id}").json()
            target = next((t for t in view.get("targets", []) if t.get("mailboxId") == mailbox), None)
            if target is None or target["state"] != "synced" or not target.get("eventId"):
                return False
            r = self.g("GET", f"/users/{mailbox}/calendar/events/{target['eventId']}")
            if r.status_code != 200:
                return False
            got = event_content(r.json())
            self.register(org, view)
            return got == {"title": want.title, "start": want.start, "end": want.end, "location": want.location}

        def done() -> None:
            appt.busy = None

        self.waiters.append(
            (f"{org.id}: {appt.id} never restored in {self.by_id[mailbox].upn}", ok, done, time.monotonic() + 240)
        )

    def op_outlook_delete(self, org: OrgModel) -> bool:
        picked = self.pick_target(org, ("organizer", "copy", "resource"))
        if picked is None:
            return False
        appt, target = picked
        mailbox, event_id = target["mailboxId"], target["eventId"]
        r = self.g("DELETE", f"/users/{mailbox}/calendar/events/{event_id}")
        if r.status_code == 404:
            return False
        if not self.check("graph: outlook action", r.status_code == 204, f"DELETE: {r.status_code}"):
            return False
        appt.busy = "outlook"
        op = Op(f"{org.id}: outlook delete of {appt.id} in {self.by_id[mailbox].upn}")
        who = self.owner(org, mailbox)
        if org.mode == TWO_WAY:
            e = Expect(org.id, ("deleted",), mailbox, event_id, appt.id, {}, op.desc, time.monotonic(), who)
            op.after = lambda seen: self.delete(org, appt, "apply feed")  # the booking is cancelled
        else:
            e = Expect(
                org.id, ("restored",), mailbox, event_id, appt.id, {"deleted": True}, op.desc, time.monotonic(), who
            )
            op.after = lambda seen: self.wait_restored(org, appt, mailbox)
        self.start_op(op, [e], lambda: None)
        return True

    def op_outlook_respond(self, org: OrgModel) -> bool:
        if not org.use_organizer:
            return False
        picked = self.pick_target(org, ("organizer",))
        if picked is None:
            return False
        appt, target = picked
        if not appt.organizer:
            return False
        attendees = [
            w
            for w in appt.attendees
            if w != appt.organizer
            and org.is_linked("worker", w)
            and org.upn("worker", w) != org.upn("worker", appt.organizer)
        ]
        if not attendees:
            return False
        worker = self.rng.choice(attendees)
        upn = org.upn("worker", worker)
        mine = self.boxes[upn].id
        r = self.g("GET", f"/users/{target['mailboxId']}/calendar/events/{target['eventId']}")
        if r.status_code != 200:
            return False
        meeting = r.json()
        current = next(
            (a["status"]["response"] for a in meeting["attendees"] if a["emailAddress"]["address"].lower() == upn),
            None,
        )
        ical = meeting["iCalUId"]
        copies = self.g("GET", f"/users/{mine}/calendar/events", params={"$filter": f"iCalUId eq '{ical}'"}).json()
        live = [e for e in copies.get("value", []) if not e.get("isCancelled")]
        if not live:
            return False
        action = self.rng.choice(("accept", "tentativelyAccept", "decline"))
        response = {"accept": "accepted", "tentativelyAccept": "tentativelyAccepted", "decline": "declined"}[action]
        r = self.g("POST", f"/users/{mine}/calendar/events/{live[0]['id']}/{action}", json={"sendResponse": True})
        if not self.check("graph: outlook action", r.status_code == 202, f"{action}: {r.status_code}"):
            return False
        self.responses.add((org.id, appt.id, upn, response))
        op = Op(f"{org.id}: {worker} {action}s {appt.id}")
        expects = []
        if current != response and org.mode == TWO_WAY:
            appt.busy = "outlook"
            expects.append(
                Expect(
                    org.id,
                    ("responded",),
                    target["mailboxId"],
                    target["eventId"],
                    appt.id,
                    {"response": response, "address": upn},
                    op.desc,
                    time.monotonic(),
                    ("worker", worker),
                )
            )

        def release() -> None:
            appt.busy = None

        self.start_op(op, expects, release)
        return True

    def orgs_linking(self, mailbox: str) -> list[tuple[OrgModel, tuple[str, str]]]:
        out = []
        for org in self.orgs.values():
            who = self.owner(org, mailbox)
            if who is not None:
                out.append((org, who))
        return out

    def op_personal_create(self, room: bool) -> bool:
        box = self.rng.choice([b for b in self.boxes.values() if b.room == room])
        n = self.next_id()
        subject = f"O:{n} {self.rng.choice(('Dentist', 'Gym', 'Focus time', 'Lunch', 'Call'))}"
        start, end = self.when()
        body = {
            "subject": subject,
            "start": {"dateTime": zulu(start)[:19], "timeZone": "UTC"},
            "end": {"dateTime": zulu(end)[:19], "timeZone": "UTC"},
            "location": {"displayName": "Somewhere"},
            "body": {"contentType": "text", "content": "personal"},
        }
        r = self.g("POST", f"/users/{box.id}/calendar/events", json=body)
        if not self.check("graph: outlook action", r.status_code == 201, f"create: {r.status_code} {r.text[:200]}"):
            return False
        ev = OutlookEvent(box.id, r.json()["id"], room, [subject])
        self.oevents[(box.id, ev.id)] = ev
        op = Op(f"outlook create {subject!r} in {box.upn}")
        expects = []
        for org, who in self.orgs_linking(box.id):
            ev.known_by.add(org.id)
            if org.mode == TWO_WAY:
                expects.append(
                    Expect(
                        org.id,
                        ("created",),
                        box.id,
                        ev.id,
                        None,
                        {"title": subject},
                        op.desc,
                        time.monotonic(),
                        who,
                    )
                )
        ev.busy = bool(expects)

        def release() -> None:
            ev.busy = False

        self.start_op(op, expects, release)
        return True

    def op_personal_change(self, delete: bool) -> bool:
        free = [e for e in self.oevents.values() if not e.deleted and not e.busy]
        if not free:
            return False
        ev = self.rng.choice(free)
        box = self.by_id[ev.mailbox]
        if delete:
            r = self.g("DELETE", f"/users/{ev.mailbox}/calendar/events/{ev.id}")
            ok = r.status_code == 204
            ev.deleted = True
            types: tuple[str, ...] = ("deleted",)
            want: dict[str, Any] = {}
            desc = f"outlook delete {ev.titles[-1]!r} in {box.upn}"
        else:
            subject = f"O:{self.next_id()} {ev.titles[0].split(' ', 1)[1]} (moved)"
            ev.titles.append(subject)
            r = self.g("PATCH", f"/users/{ev.mailbox}/calendar/events/{ev.id}", json={"subject": subject})
            ok = r.status_code == 200
            types, want = ("updated", "created"), {"title": subject}
            desc = f"outlook retitle to {subject!r} in {box.upn}"
        if not self.check("graph: outlook action", ok, f"{desc}: {r.status_code}"):
            return False
        op = Op(desc)
        expects = []
        for org, who in self.orgs_linking(ev.mailbox):
            if org.mode == TWO_WAY and (not delete or org.id in ev.known_by):
                expects.append(
                    Expect(
                        org.id,
                        types,
                        ev.mailbox,
                        ev.id,
                        None,
                        want,
                        desc,
                        time.monotonic(),
                        who,
                    )
                )
            ev.known_by.add(org.id)
        ev.busy = bool(expects)

        def release() -> None:
            ev.busy = False

        self.start_op(op, expects, release)
        return True

    # -- faults ---------------------------------------------------------------------------------------
    def faults_now(self) -> dict[str, Any]:
        return self.s.graph.get("/_emulator/faults").json()

    def add_rules(self, rules: list[dict[str, Any]]) -> None:
        current = self.faults_now().get("failNext") or []
        self.s.graph.post("/_emulator/faults", json={"failNext": current + rules})

    def later(self, seconds: float, what: str, fn: Any) -> None:
        self.scheduled.append((time.monotonic() + seconds, what, fn))

    def inject(self, kind: str) -> None:
        rng, graph = self.rng, self.s.graph
        if kind == "kill":
            alive = [i for i in self.s.instances if i.alive]
            if len(alive) < len(self.s.instances) or len(alive) < 2:
                return
            victim = rng.choice(alive)
            victim.kill()
            self.kills.append(time.monotonic())
            print(f"  kill instance {victim.index}", flush=True)
            delay = rng.uniform(3, 12)
            thread = threading.Thread(target=lambda: (time.sleep(delay), victim.start()), daemon=True)
            thread.start()
            self.restarts.append(thread)
            self.log(f"fault kill instance {victim.index}")
        elif kind == "throttle_storm":
            graph.post("/_emulator/faults", json={"throttle": {"requests": 12, "windowSeconds": 5, "concurrency": 1}})
            self.later(
                rng.uniform(8, 20),
                "throttle off",
                lambda: graph.post("/_emulator/faults", json={"throttle": NORMAL_FAULTS["throttle"]}),
            )
        elif kind == "429":
            self.add_rules(
                [
                    {
                        "method": "GET",
                        "pattern": "/users/{id}/calendarView/delta",
                        "status": 429,
                        "count": 6,
                        "retryAfter": 1,
                    },
                    {"method": "POST", "pattern": "/users/{id}/events", "status": 429, "count": 3, "retryAfter": 1},
                    {
                        "method": "PATCH",
                        "pattern": "/users/{id}/events/{id}",
                        "status": 429,
                        "count": 3,
                        "retryAfter": 1,
                    },
                ]
            )
        elif kind == "5xx":
            graph.post("/_emulator/faults", json={"errorRate": rng.choice((0.1, 0.2, 0.3))})
            self.later(rng.uniform(5, 15), "5xx off", lambda: graph.post("/_emulator/faults", json={"errorRate": 0}))
            self.add_rules(
                [
                    {"method": "GET", "pattern": "/users/{id}/calendarView/delta", "status": 503, "count": 3},
                    {"method": "PATCH", "pattern": "/users/{id}/events/{id}", "status": 500, "count": 1},
                ]
            )
        elif kind == "lost_answer":
            # Carried out, then answered with an error: the app cannot know it happened.
            self.add_rules(
                [
                    {
                        "method": "POST",
                        "pattern": "/users/{id}/events",
                        "status": rng.choice((500, 504)),
                        "count": 1,
                        "afterApply": True,
                    },
                    {
                        "method": "PATCH",
                        "pattern": "/users/{id}/events/{id}",
                        "status": rng.choice((500, 504)),
                        "count": 1,
                        "afterApply": True,
                    },
                    {
                        "method": "DELETE",
                        "pattern": "/users/{id}/events/{id}",
                        "status": rng.choice((500, 504)),
                        "count": 1,
                        "afterApply": True,
                    },
                ]
            )
        elif kind == "dropped_notifications":
            graph.post("/_emulator/faults", json={"deliverNotifications": False})
            self.later(
                rng.uniform(5, 15),
                "notifications on",
                lambda: graph.post("/_emulator/faults", json={"deliverNotifications": True}),
            )
        elif kind == "delta_expired":
            body: dict[str, Any] = {
                "status": rng.choice((410, 400)),
                "code": rng.choice(("syncStateNotFound", "syncStateInvalid", "resyncRequired")),
            }
            if rng.random() < 0.6:
                body["mailbox"] = rng.choice(list(self.by_id))
            graph.post("/_emulator/delta/expire", json=body)
        elif kind in ("subscription_removed", "lifecycle_missed"):
            subs = [
                s
                for s in graph.get("/_emulator/subscriptions").json()["subscriptions"]
                if s["tenantId"] == self.tenant and not s["expired"]
            ]
            if not subs:
                return
            sub = rng.choice(subs)
            if kind == "subscription_removed":
                graph.delete(f"/_emulator/subscriptions/{sub['id']}")
            else:
                graph.post(f"/_emulator/subscriptions/{sub['id']}/lifecycle", json={"lifecycleEvent": "missed"})
        self.faults[kind] += 1
        self.log(f"fault {kind}")

    def clear_faults(self) -> None:
        self.scheduled.clear()  # this phase's faults (and their ends) are over
        self.s.graph.post("/_emulator/faults", json=NORMAL_FAULTS)
        for thread in self.restarts:
            thread.join()
        self.restarts.clear()
        for instance in self.s.instances:
            if not instance.alive:
                instance.start()

    # -- a phase of work --------------------------------------------------------------------------------
    def step(self) -> bool:
        org = self.rng.choice(list(self.orgs.values()))
        live = sum(1 for a in org.appts.values() if not a.deleted)
        ops: list[tuple[str, float, Any]] = [
            ("booking create", 14 if live < 30 else 1, lambda: self.op_book_create(org)),
            ("booking move", 8, lambda: self.op_book_change(org, "move")),
            ("booking retitle", 7, lambda: self.op_book_change(org, "retitle")),
            ("booking re-attend", 7, lambda: self.op_book_change(org, "reattend")),
            ("booking delete", 3 if live < 30 else 10, lambda: self.op_book_change(org, "delete")),
            ("outlook edit", 7, lambda: self.op_outlook_edit(org, "title")),
            ("outlook move", 5, lambda: self.op_outlook_edit(org, "move")),
            ("outlook relocate", 3, lambda: self.op_outlook_edit(org, "location")),
            ("outlook delete", 3, lambda: self.op_outlook_delete(org)),
            ("outlook respond", 6, lambda: self.op_outlook_respond(org)),
            ("outlook create", 4, lambda: self.op_personal_create(False)),
            ("outlook room reservation", 2, lambda: self.op_personal_create(True)),
            ("outlook personal edit", 3, lambda: self.op_personal_change(False)),
            ("outlook personal delete", 1.5, lambda: self.op_personal_change(True)),
        ]
        name, _, fn = self.rng.choices(ops, weights=[w for _, w, _ in ops])[0]
        if fn():
            self.steps[name] += 1
            return True
        return False

    def phase(self, seconds: float, n: int) -> None:
        start = time.monotonic()
        kinds = self.rng.sample(FAULT_KINDS, self.rng.randint(1, 4))
        if "kill" not in kinds and (n % 2 == 1 or self.rng.random() < 0.3):
            kinds.append("kill")  # every other phase at least: an instance dies under load
        for kind in kinds:
            self.later(self.rng.uniform(0, seconds * 0.7), f"fault {kind}", lambda k=kind: self.inject(k))
        print(f"phase: {seconds:.0f} s, faults {', '.join(kinds)}", flush=True)
        while time.monotonic() - start < seconds:
            self.tick()
            if not self.step():
                time.sleep(0.1)

    # -- quiescence and the invariants ------------------------------------------------------------------
    def settle(self, label: str) -> None:
        started = time.monotonic()
        self.clear_faults()
        # The booking product's writes all answered, the oneWay restores and feed applications done.
        deadline = time.monotonic() + 300
        while self.pending or self.waiters or not self.queues_idle():
            self.tick()
            if time.monotonic() > deadline:
                self.fail("settle_timeout", f"{label}: pending {sorted(self.pending)}, {self.queue_counts()}")
                break
            time.sleep(0.3)
        self.check_links()
        # A reconcile, and every linked mailbox's round after it: all Outlook changes made
        # before it are in the feeds (also those whose notification was dropped).
        for _ in range(3):
            since = now()
            alive = next(i for i in self.s.instances if i.alive)
            self.check("admin: reconcile fired", self.s.admin(alive, "reconcile") == 202, "POST /admin/functions")
            self.wait_rounds(since, f"{label} reconcile")
            self.poll_feeds()
            if not self.open and not self.pending and not self.waiters and self.queues_idle():
                break
            # Feed applications (twoWay) or restores (oneWay) started more work: once more.
            deadline = time.monotonic() + 240
            while (self.pending or self.waiters) and time.monotonic() < deadline:
                self.tick()
                time.sleep(0.3)
        self.poll_feeds()
        for e in list(self.open):
            self.fail("feed_missing", f"never reported: {e.desc} (expected {e.types} {e.want} in {e.org})")
            self.open.remove(e)
            self.closed.append(e)
            if not e.op.finished:
                e.op.finished = True
                for org in self.orgs.values():
                    for a in org.appts.values():
                        if a.busy == "outlook":
                            a.busy = None
                for ev in self.oevents.values():
                    ev.busy = False
        self.check_calendars()
        self.bad_inputs()
        self.poll_feeds()
        print(
            f"{label}: settled and checked in {time.monotonic() - started:.0f} s; "
            f"{sum(self.steps.values())} steps, {sum(self.checks.values())} checks, {len(self.failures)} failures",
            flush=True,
        )

    def check_links(self) -> None:
        for org in self.orgs.values():
            for link in self.links(org):
                kind = "worker" if "worker" in link else "resource"
                ident = link[kind]
                want = "linked" if org.is_linked(kind, ident) else "unlinked"
                ok = self.check(
                    "links: status as the admin left it",
                    link["status"] == want,
                    f"{org.id} {kind} {ident} is {link['status']} ({link.get('error')}), not {want}",
                )
                if not ok and want == "linked":
                    self.link(org, kind, ident)  # the admin links it again
            health = self.api("GET", f"/orgs/{org.id}/health").json()
            links = health.get("links") or {}
            self.check(
                "links: org health", not links.get("error") and not links.get("attention"), f"{org.id} health: {health}"
            )

    def snapshot(self) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {}
        expand = f"singleValueExtendedProperties($filter=id eq '{PROPERTY_ID}')"
        for box in self.boxes.values():
            events: list[dict[str, Any]] = []
            url: str | None = f"/users/{box.id}/calendar/events"
            params: dict | None = {"$top": "1000", "$expand": expand}
            while url:
                page = self.g("GET", url, params=params).json()
                events += page["value"]
                url, params = page.get("@odata.nextLink"), None
            out[box.id] = events
        for events in out.values():
            for e in events:
                value = tag(e)
                if value and e.get("isOrganizer"):
                    self.ical_owner[e["iCalUId"]] = value
        for mailbox, events in out.items():
            for e in events:
                value = tag(e) or self.ical_owner.get(e.get("iCalUId") or "")
                if value:
                    self.event_owner[(mailbox, e["id"])] = value
        return out

    def check_calendars(self) -> None:
        snap = self.snapshot()
        # No mailbox holds two live events for one appointment (its own or a meeting's copies).
        for mailbox, events in snap.items():
            owners = Counter(
                tag(e) or self.ical_owner.get(e.get("iCalUId") or "") for e in events if not e.get("isCancelled")
            )
            owners.pop(None, None)
            owners.pop("", None)
            for owner, n in owners.items():
                self.check(
                    "calendar: one event per appointment and mailbox",
                    n == 1,
                    f"{self.by_id[mailbox].upn} holds {n} live events of {owner}",
                )
        ours: dict[str, dict[str, dict[str, Any]]] = {}
        for mailbox, events in snap.items():
            for e in events:
                value = tag(e)
                if value and not e.get("isCancelled"):
                    ours.setdefault(value, {})[mailbox] = e
        known = {f"{o.id}/{a}" for o in self.orgs.values() for a in o.appts}
        for value in ours:
            self.check("calendar: no stray events", value in known, f"events of unknown appointment {value}")
        for org in self.orgs.values():
            for appt in org.appts.values():
                if not appt.put_once:
                    continue
                want = expected(org, appt, self.boxes)
                have = ours.get(f"{org.id}/{appt.id}", {})
                names = lambda ids: sorted(self.by_id[i].upn for i in ids)  # noqa: E731
                self.check(
                    "calendar: the booking's events, where it wants them",
                    set(want) == set(have),
                    f"{org.id}/{appt.id}: events in {names(have)}, wanted in {names(want)}",
                    appointment=appt.body(),
                )
                for mailbox, w in want.items():
                    event = have.get(mailbox)
                    if event is None:
                        continue
                    got = event_content(event)
                    wanted = {"title": w.title, "start": w.start, "end": w.end, "location": w.location}
                    self.check(
                        "calendar: event content as the booking wants",
                        got == wanted,
                        f"{org.id}/{appt.id} in {self.by_id[mailbox].upn}: {got}, wanted {wanted}",
                    )
                    if w.attendees is not None:
                        attendees = {
                            (a["emailAddress"]["address"].lower(), a["type"]) for a in event.get("attendees") or []
                        }
                        self.check(
                            "calendar: meeting attendees",
                            attendees == set(w.attendees),
                            f"{org.id}/{appt.id}: attendees {sorted(attendees)}, wanted {sorted(w.attendees)}",
                        )
                if appt.deleted and not want:
                    continue
                view = self.api("GET", f"/orgs/{org.id}/appointments/{appt.id}").json()
                states = {t.get("mailboxId"): t for t in view.get("targets", [])}
                for mailbox, event in have.items():
                    t = states.get(mailbox)
                    self.check(
                        "api: targets match the calendars",
                        t is not None and t["state"] == "synced" and t.get("eventId") == event["id"],
                        f"{org.id}/{appt.id} in {self.by_id[mailbox].upn}: target {t}, event {event['id']}",
                    )

    def bad_inputs(self) -> None:
        """Requests with bad input answer a 4xx problem and change nothing."""
        for org in self.orgs.values():
            free = self.free(org)
            existing = self.rng.choice(free) if free else None
            cases: list[tuple[str, str, Any]] = []
            if existing is not None:
                body = existing.body()
                bad = [
                    {**body, "end": zulu(existing.start - timedelta(hours=1))},
                    {**body, "attendees": ["nobody-such"]},
                    {**body, "timeZone": "Mars/Olympus"},
                    {**body, "colour": "red"},
                    {**body, "title": ""},
                    {**body, "guests": ["not-an-address"]},
                ]
                cases += [("PUT", f"/orgs/{org.id}/appointments/{existing.id}", self.rng.choice(bad))]
            fresh = f"bad{self.next_id()}"
            start, end = self.when()
            cases += [
                (
                    "PUT",
                    f"/orgs/{org.id}/appointments/{fresh}",
                    {"title": "x", "start": zulu(end), "end": zulu(start), "timeZone": "UTC"},
                ),
                ("PUT", f"/orgs/{org.id}/settings", {"syncMode": "sideways"}),
                ("PUT", f"/orgs/{org.id}/workers/{next(iter(org.workers))}", {"m365Account": "not-an-address"}),
                (
                    "POST",
                    f"/orgs/{org.id}/workers/{next(iter(org.workers))}/push-calendar",
                    {
                        "appointments": [
                            {"appointment": fresh, "title": "x", "start": zulu(start), "end": zulu(end)},
                            {"appointment": fresh + "b", "title": "y", "start": "soon", "end": zulu(end)},
                        ]
                    },
                ),
            ]
            for method, path, body in self.rng.sample(cases, min(3, len(cases))):
                self.steps["bad input"] += 1
                before = self.observe(org, path, fresh)
                r = self.api(method, path, json=body)
                problem = "application/problem+json" in r.headers.get("content-type", "")
                doc = r.json() if problem else {}
                self.check(
                    "api: bad input is a 4xx problem",
                    400 <= r.status_code < 500
                    and problem
                    and doc.get("status") == r.status_code
                    and bool(doc.get("code"))
                    and str(doc.get("type", "")).startswith("urn:calsync:problem:"),
                    f"{method} {path} {json.dumps(body)[:200]} → {r.status_code} {r.text[:300]}",
                )
                after = self.observe(org, path, fresh)
                self.check(
                    "api: bad input changes nothing",
                    before == after,
                    f"{method} {path}: before {before}, after {after}",
                )

    def observe(self, org: OrgModel, path: str, fresh: str) -> Any:
        """What a bad request could have changed: the appointment (and its events' changeKeys),
        the settings, the worker's link, the pushed appointments."""
        if "/appointments/" in path:
            r = self.api("GET", path)
            if r.status_code == 404:
                return 404
            view = r.json()
            keys = []
            for t in view["targets"]:
                if t.get("eventId"):
                    e = self.g("GET", f"/users/{t['mailboxId']}/calendar/events/{t['eventId']}")
                    keys.append(e.json().get("changeKey") if e.status_code == 200 else e.status_code)
            return [(t["mailboxId"], t["eventId"], t["state"]) for t in view["targets"]], keys
        if path.endswith("/settings"):
            return self.api("GET", path).json()
        if path.endswith("/push-calendar"):
            return [self.api("GET", f"/orgs/{org.id}/appointments/{fresh}{s}").status_code for s in ("", "b")]
        view = self.api("GET", path).json()
        return view.get("status"), view.get("m365Account"), view.get("m365UserId")

    # -- the admin between phases -----------------------------------------------------------------------
    def admin(self) -> None:
        org = self.rng.choice(list(self.orgs.values()))
        since = now()
        if self.rng.random() < 0.35:
            mode = ONE_WAY if org.mode == TWO_WAY else TWO_WAY
            r = self.api("PUT", f"/orgs/{org.id}/settings", json={"syncMode": mode})
            if self.check("admin", r.status_code == 200 and r.json().get("syncMode") == mode, r.text[:300]):
                org.mode = mode
                org.modes.append((now(), mode))
                self.steps["admin syncMode"] += 1
                print(f"  admin: {org.id} syncMode {mode}", flush=True)
                self.log(f"admin {org.id} syncMode {mode}")
            return
        choices = [("worker", w) for w in org.workers] + [("resource", r) for r in org.resources]
        kind, ident = self.rng.choice(choices)
        linked_workers = sum(1 for k, _ in org.linked if k == "worker")
        if org.is_linked(kind, ident) and (kind == "resource" or linked_workers > 2):
            self.unlink(org, kind, ident)
            self.steps["admin unlink"] += 1
            print(f"  admin: {org.id} unlinks {kind} {ident}", flush=True)
            self.log(f"admin {org.id} unlinks {kind} {ident}")
        elif not org.is_linked(kind, ident):
            if not self.link(org, kind, ident):
                return
            self.steps["admin link"] += 1
            print(f"  admin: {org.id} links {kind} {ident}", flush=True)
            self.log(f"admin {org.id} links {kind} {ident}")
        else:
            return
        # The booking product pushes its appointments naming them again (what it wants now).
        for appt in org.appts.values():
            names = [appt.organizer, *appt.attendees] if kind == "worker" else appt.resources
            if not appt.deleted and ident in names:
                self.put(org, appt, "admin resync")
                self.steps["booking resync"] += 1
        self.wait_rounds(since, "admin")

    # -- the whole run --------------------------------------------------------------------------------
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
