"""The soak's shared state and plumbing (bench/soak.py): bookkeeping (trace, failures, checks),
the HTTP clients (the app through the proxy, people's plain Graph calls), the world's setup
(tenant, orgs, links), the app's state seen from outside (queues, links' rounds) and the
periodic work every loop does (scheduled faults, the feeds, 202s and waiters).

The workload (soak_workload.py, soak_people.py), the faults (soak_faults.py) and the
invariants (soak_feed.py, soak_invariants.py, soak_calendars.py) are mixins over this one
state object.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from azure.storage.queue import QueueServiceClient

from bench.soak_world import (
    PROPERTY_ID,
    TWO_WAY,
    Expect,
    Mailbox,
    Op,
    OrgModel,
    OutlookEvent,
    tag,
    utc,
    zulu,
)
from bench.stack import ClusterStack
from devtools.services import ROOT

APP_ID = "50a50a50-0000-4000-8000-000000000001"  # "Outlook" and "To Do": another application's budget
PEOPLE = ("ada", "bob", "cyd", "dee", "eve")
ZONES = {"bob": "W. Europe Standard Time", "dee": "Pacific Standard Time"}  # mailboxSettings.timeZone
ROOMS = ("room0", "room1")
DOMAIN = "bench.test"
HOST_ENV = {
    # A killed instance's running messages come back after 30 s, not 10 minutes.
    "CALSYNC_HOST_LEASE_SECONDS": "30",
    # Both instances run both timers, often: reconcile every 30 s (it also reads the To Do
    # lists), renewal every minute, and every subscription is due (they last 70 h).
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


def now() -> datetime:
    return datetime.now(UTC)


class SoakState:
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
        # (desc, check, done, deadline, failure kind)
        self.waiters: list[tuple[str, Callable[[], bool], Callable[[], None], float, str]] = []
        self.pending: set[tuple[str, str]] = set()  # (org, appointment) answered 202
        self.task_pending: set[tuple[str, str]] = set()  # (org, task) answered 202
        self.oevents: dict[tuple[str, str], OutlookEvent] = {}
        self.event_owner: dict[tuple[str, str], str] = {}  # (mailbox, event id) → "org/appointment"
        self.todo_owner: dict[str, str] = {}  # To Do task id → "org/task"
        self.ical_owner: dict[str, str] = {}
        self.responses: set[tuple[str, str, str, str]] = set()  # (org, appt, address, response) done
        # oneWay edits or cancellations of one occurrence: (org, appointment, date), see soak_people.py
        self.oneway_occ: set[tuple[str, str, str]] = set()
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
            context["evidence"] = self.evidence(context["change"], context.get("org"))
        self.failures.append({"kind": kind, "message": message, "at": zulu(now()), **context})
        print(f"  FAILURE {kind}: {message}", flush=True)

    def evidence(self, change: dict[str, Any], org_id: str | None = None) -> dict[str, Any]:
        """For a bad feed change: the event (or To Do task) as Graph has it now, and the
        booking it belongs to."""
        out: dict[str, Any] = {}
        try:
            if change.get("task"):
                out["todoOwner"] = self.todo_owner.get(change.get("eventId") or "")
                if org_id:
                    out["task"] = self.api("GET", f"/orgs/{org_id}/tasks/{change['task']}").json()
                return out
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
                    "type",
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

    def name(self, mailbox: str | None) -> str:
        return self.by_id[mailbox].upn.split("@")[0] if mailbox in self.by_id else str(mailbox)

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
        """A person in Outlook or To Do: plain Graph calls as another application. Throttled or
        failed requests were not carried out (the bench's rules target the app's paths), so retry."""
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

    def g_all(self, path: str, params: dict | None = None) -> list[dict[str, Any]]:
        """Every page of a Graph collection."""
        out: list[dict[str, Any]] = []
        url: str | None = path
        while url:
            page = self.g("GET", url, params=params).json()
            out += page.get("value") or []
            url, params = page.get("@odata.nextLink"), None
        return out

    # -- setup ----------------------------------------------------------------------------------
    def setup(self) -> None:
        users = [{"userPrincipalName": f"{p}@{DOMAIN}", "displayName": f"{p.title()} Soak"} for p in PEOPLE]
        for user in users:  # mailboxes east and west of UTC: To Do keeps due dates in the worker's zone
            user["timeZone"] = ZONES.get(user["userPrincipalName"].split("@")[0], "UTC")
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
            assert r.json().get("syncTasks") is not False, r.text  # docs/api.md: on by default
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
            if ev.mailbox == box.id and not ev.deleted and org.mode == TWO_WAY:
                ev.known_by.add(org.id)  # its first round reports it (oneWay: neither reports nor remembers)
        return True

    def unlink(self, org: OrgModel, kind: str, ident: str) -> None:
        body = {"m365Account": ""} if kind == "worker" else {"mailbox": ""}
        r = self.api("PUT", f"/orgs/{org.id}/{kind}s/{ident}", json=body)
        self.check("admin", r.status_code == 200 and r.json().get("status") == "unlinked", f"unlink: {r.text[:300]}")
        org.linked.discard((kind, ident))

    def owner(self, org: OrgModel, mailbox: str) -> tuple[str, str] | None:
        return org.owners(self.boxes).get(mailbox)

    def orgs_linking(self, mailbox: str) -> list[tuple[OrgModel, tuple[str, str]]]:
        out = []
        for org in self.orgs.values():
            who = self.owner(org, mailbox)
            if who is not None:
                out.append((org, who))
        return out

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

    def waiting(self) -> bool:
        """Booking writes answered 202 (appointments or tasks) still pending."""
        return bool(self.pending or self.task_pending)

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
            if not late and not self.waiting() and self.queues_idle():
                return True
            if time.monotonic() > deadline:
                self.fail("settle_timeout", f"{why}: no round after {zulu(since)} for {late}; {self.queue_counts()}")
                return False
            time.sleep(0.5)

    # -- Outlook actions awaiting their report ------------------------------------------------------
    def start_op(self, op: Op, expects: list[Expect], release: Any) -> None:
        """Register what an Outlook (or To Do) action must produce; `release` runs once all is
        seen (or at once when nothing is expected)."""
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

    def wait_for(
        self, desc: str, ok: Callable[[], bool], done: Callable[[], None], kind: str = "restore_missing"
    ) -> None:
        """Poll `ok` (about once a second) until it holds; `kind` fails after 240 s."""
        self.waiters.append((desc, ok, done, time.monotonic() + 240, kind))

    # -- periodic work ------------------------------------------------------------------------------
    def later(self, seconds: float, what: str, fn: Any) -> None:
        self.scheduled.append((time.monotonic() + seconds, what, fn))

    def tick(self) -> None:
        t = time.monotonic()
        for item in [x for x in self.scheduled if x[0] <= t]:
            self.scheduled.remove(item)
            item[2]()
        if t - self.last_feed > 0.5:
            self.poll_feeds()  # soak_feed.Feed
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
                self.put(org, appt, "retry failed")  # soak_workload.Workload
        for key in list(self.task_pending):
            org, task = self.orgs[key[0]], self.orgs[key[0]].tasks[key[1]]
            view = self.api("GET", f"/orgs/{org.id}/tasks/{task.id}").json()
            if view.get("state") == "pending":
                continue
            self.task_pending.discard(key)
            self.log(f"task {org.id} {task.id} settled: {view.get('state')} {view.get('error')}")
            self.register_task(org, view)
            task.pending, task.busy = False, None
            if view.get("state") == "failed" and not task.deleted:
                self.stats["tasks failed after retries (re-put)"] += 1
                self.put_task(org, task, "retry failed")  # soak_workload.Workload

    def poll_waiters(self) -> None:
        for item in list(self.waiters):
            desc, ok, done, deadline, kind = item
            if ok():
                self.waiters.remove(item)
                done()
            elif time.monotonic() > deadline:
                self.waiters.remove(item)
                self.fail(kind, desc)
                done()

    def register(self, org: OrgModel, view: dict[str, Any]) -> None:
        for t in view.get("targets", []):
            if t.get("eventId") and t.get("mailboxId"):
                self.event_owner[(t["mailboxId"], t["eventId"])] = f"{org.id}/{view['appointment']}"

    def register_task(self, org: OrgModel, view: dict[str, Any]) -> None:
        if view.get("todoTaskId"):
            self.todo_owner[view["todoTaskId"]] = f"{org.id}/{view.get('task')}"

    def when(self) -> tuple[datetime, datetime]:
        day = now().replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=self.rng.randint(1, 20))
        start = day + timedelta(hours=self.rng.randint(6, 17), minutes=self.rng.choice((0, 15, 30, 45)))
        return start, start + timedelta(minutes=self.rng.choice((30, 45, 60, 90)))
