"""The soak's quiescence and its invariants (bench/soak.py). `settle` clears the faults, waits
on positive signals (every answer in, the 202s finished, the queues empty, a reconcile fired
and every linked mailbox's round after it, so the To Do lists are read too) and then checks:

- every expected feed change was seen (soak_feed.py judged each as it came);
- links as the admin left them, the orgs' health clean;
- calendars, series and online meetings (soak_calendars.py);
- tasks: exactly one To Do task per booking task, in its worker's list, as the booking wants;
- a request with bad input answers a 4xx problem+json and changes nothing.

`check_availability` judges each availability answer as the workload gets it: 2xx, or 4xx
problem+json (never 5xx), and every worker and resource asked for named once, in order.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import timedelta
from typing import Any

import httpx

from bench.soak_state import ZONES, SoakState, now
from bench.soak_world import OrgModel, zulu
from shared.core.tasks import due_date

CALSYNC = "calsync"  # docs/api.md: our To Do tasks' linkedResource applicationName


def is_problem(r: httpx.Response) -> bool:
    doc = r.json() if "application/problem+json" in r.headers.get("content-type", "") else {}
    return (
        bool(doc)
        and doc.get("status") == r.status_code
        and bool(doc.get("code"))
        and str(doc.get("type", "")).startswith("urn:calsync:problem:")
    )


class Invariants(SoakState):
    def settle(self, label: str) -> None:
        started = time.monotonic()
        self.clear_faults()  # soak_faults.Faults
        # The booking product's writes all answered, the oneWay restores and feed applications done.
        deadline = time.monotonic() + 300
        while self.waiting() or self.waiters or not self.queues_idle():
            self.tick()
            if time.monotonic() > deadline:
                pending = sorted(self.pending | self.task_pending)
                self.fail("settle_timeout", f"{label}: pending {pending}, {self.queue_counts()}")
                break
            time.sleep(0.3)
        self.check_links()
        # A reconcile, and every linked mailbox's round after it: all Outlook changes made
        # before it are in the feeds (also those whose notification was dropped), and the
        # To Do lists have been read.
        for _ in range(3):
            since = now()
            alive = next(i for i in self.s.instances if i.alive)
            self.check("admin: reconcile fired", self.s.admin(alive, "reconcile") == 202, "POST /admin/functions")
            self.wait_rounds(since, f"{label} reconcile")
            self.poll_feeds()
            if not self.open and not self.waiting() and not self.waiters and self.queues_idle():
                break
            # Feed applications (twoWay) or restores (oneWay) started more work: once more.
            deadline = time.monotonic() + 240
            while (self.waiting() or self.waiters) and time.monotonic() < deadline:
                self.tick()
                time.sleep(0.3)
        self.poll_feeds()
        for e in list(self.open):
            self.fail(e.missing, f"never reported: {e.desc} (expected {e.types} {e.want} in {e.org})")
            e.missed = True  # if it comes later after all: `feed_late`, not a duplicate
            self.open.remove(e)
            self.closed.append(e)
            if not e.op.finished:
                e.op.finished = True
                for org in self.orgs.values():
                    for a in org.appts.values():
                        if a.busy == "outlook":
                            a.busy = None
                    for t in org.tasks.values():
                        if t.busy == "todo":
                            t.busy = None
                for ev in self.oevents.values():
                    ev.busy = False
        self.check_calendars()  # soak_calendars.Calendars
        self.check_tasks()
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

    # -- tasks -------------------------------------------------------------------------------------
    def todo_tasks(self) -> dict[str, list[tuple[str, str, dict[str, Any]]]]:
        """Every calsync task in every mailbox's To Do: "org/task" → [(mailbox, list name, task)]."""
        out: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
        for box in self.boxes.values():
            if box.room:
                continue
            for lst in self.g_all(f"/users/{box.id}/todo/lists"):
                path = f"/users/{box.id}/todo/lists/{lst['id']}/tasks"
                for item in self.g_all(path, {"$expand": "linkedResources"}):
                    for link in item.get("linkedResources") or []:
                        if link.get("applicationName") == CALSYNC and link.get("externalId"):
                            out.setdefault(link["externalId"], []).append((box.id, lst.get("displayName"), item))
        return out

    def check_tasks(self) -> None:
        found = self.todo_tasks()
        known = {f"{o.id}/{t}" for o in self.orgs.values() for t in o.tasks}
        for key in found:
            self.check("tasks: no stray To Do tasks", key in known, f"To Do tasks of unknown task {key}")
        for org in self.orgs.values():
            linked = {w for kind, w in org.linked if kind == "worker"}
            for task in org.tasks.values():
                if not task.put_once:
                    continue
                where = found.get(f"{org.id}/{task.id}", [])
                places = [(self.name(m), name) for m, name, _ in where]
                if task.deleted:
                    self.check("tasks: one To Do task per task", not where, f"{org.id}/{task.id} deleted, in {places}")
                    continue
                if task.worker not in linked:  # unlinked since: the task stays where it was
                    self.check("tasks: one To Do task per task", len(where) <= 1, f"{org.id}/{task.id} in {places}")
                    continue
                mailbox = self.boxes[org.upn("worker", task.worker)].id
                ok = self.check(
                    "tasks: one To Do task per task",
                    len(where) == 1 and where[0][0] == mailbox and where[0][1] == "Bookings",
                    f"{org.id}/{task.id} of {task.worker} in {places}, wanted once in {self.name(mailbox)}'s Bookings",
                )
                if not ok or not where:
                    continue
                item = where[0][2]
                got = {
                    "title": item.get("title"),
                    "status": item.get("status"),
                    "importance": item.get("importance"),
                    "dueDate": due_date(
                        item.get("dueDateTime"), ZONES.get(org.upn("worker", task.worker).split("@")[0], "UTC")
                    ),
                }
                wanted = {
                    "title": task.title,
                    "status": task.status,
                    "importance": task.importance,
                    "dueDate": task.due,
                }
                self.check(
                    "tasks: To Do task as the booking wants",
                    got == wanted,
                    f"{org.id}/{task.id}: {got}, wanted {wanted}",
                )
                view = self.api("GET", f"/orgs/{org.id}/tasks/{task.id}").json()
                self.check(
                    "api: task view matches To Do",
                    view.get("state") == "synced" and view.get("todoTaskId") == item["id"],
                    f"{org.id}/{task.id}: view {view.get('state')} {view.get('todoTaskId')}, To Do {item['id']}",
                )

    # -- availability -----------------------------------------------------------------------------
    def check_availability(self, org: OrgModel, ask: dict[str, Any], r: httpx.Response) -> None:
        ok = r.status_code < 300 or (400 <= r.status_code < 500 and is_problem(r))
        if not self.check(
            "availability: 2xx or a 4xx problem",
            ok,
            f"POST availability {json.dumps(ask)[:200]} → {r.status_code} {r.text[:300]}",
        ):
            return
        if r.status_code >= 300:
            self.stats[f"availability answered {r.status_code}"] += 1
            return
        answer = r.json()
        named = [
            ("worker", s.get("worker")) if s.get("worker") else ("resource", s.get("resource"))
            for s in answer["schedules"]
        ]
        missing = [
            ("worker", u["worker"]) if u.get("worker") else ("resource", u.get("resource"))
            for u in answer["unavailable"]
        ]
        asked = [("worker", w) for w in dict.fromkeys(ask["workers"])]
        asked += [("resource", x) for x in dict.fromkeys(ask["resources"])]
        seen = Counter(named + missing)
        self.check(
            "availability: everyone asked is answered once",
            all(seen[a] == 1 for a in asked) and sum(seen.values()) == len(asked),
            f"{org.id}: asked {asked}, schedules {named}, unavailable {missing}",
        )
        codes = {
            ("worker", u["worker"]) if u.get("worker") else ("resource", u.get("resource")): u.get("code")
            for u in answer["unavailable"]
        }
        for kind, ident in asked:
            code = codes.get((kind, ident))
            if (kind, ident) not in codes:
                continue
            self.stats[f"availability unavailable: {code}"] += 1
            known = ident in (org.workers if kind == "worker" else org.resources)
            if not known:
                want = {f"unknown_{kind}"}
            elif org.is_linked(kind, ident):  # linked: only Graph may keep it from an answer
                want = {code} - {"not_linked", "unknown_worker", "unknown_resource", "link_error"}
            else:
                want = {"not_linked"}
            self.check(
                "availability: unavailable for the right reason",
                code in want,
                f"{org.id}: {kind} {ident} unavailable as {code!r}",
            )

    # -- bad input ----------------------------------------------------------------------------------
    def bad_inputs(self) -> None:
        """Requests with bad input answer a 4xx problem and change nothing."""
        for org in self.orgs.values():
            free = self.free(org)  # soak_workload.Workload
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
                    {**body, "recurrence": {"pattern": {"type": "weekly", "interval": 1}, "range": {"type": "noEnd"}}},
                    {**body, "onlineMeeting": "yes"},
                ]
                cases += [("PUT", f"/orgs/{org.id}/appointments/{existing.id}", self.rng.choice(bad))]
                day = zulu(existing.start)[:10]
                if existing.recurrence:  # a date that is not one of the series' → 404
                    day = zulu(existing.start - timedelta(days=1))[:10]
                cases += [("PUT", f"/orgs/{org.id}/appointments/{existing.id}/occurrences/{day}", {"title": "x"})]
            fresh = f"bad{self.next_id()}"
            start, end = self.when()
            worker = next(iter(org.workers))
            cases += [
                (
                    "PUT",
                    f"/orgs/{org.id}/appointments/{fresh}",
                    {"title": "x", "start": zulu(end), "end": zulu(start), "timeZone": "UTC"},
                ),
                ("PUT", f"/orgs/{org.id}/settings", {"syncMode": "sideways"}),
                ("PUT", f"/orgs/{org.id}/workers/{worker}", {"m365Account": "not-an-address"}),
                (
                    "POST",
                    f"/orgs/{org.id}/workers/{worker}/push-calendar",
                    {
                        "appointments": [
                            {"appointment": fresh, "title": "x", "start": zulu(start), "end": zulu(end)},
                            {"appointment": fresh + "b", "title": "y", "start": "soon", "end": zulu(end)},
                        ]
                    },
                ),
                ("PUT", f"/orgs/{org.id}/tasks/{fresh}", {"worker": worker, "title": "x", "status": "done"}),
                ("PUT", f"/orgs/{org.id}/tasks/{fresh}", {"worker": "w-nobody", "title": "x"}),
                (
                    "POST",
                    f"/orgs/{org.id}/availability",
                    {"workers": [worker], "start": zulu(end), "end": zulu(start)},
                ),
            ]
            for method, path, body in self.rng.sample(cases, min(3, len(cases))):
                self.steps["bad input"] += 1
                before = self.observe(org, path, fresh)
                r = self.api(method, path, json=body)
                self.check(
                    "api: bad input is a 4xx problem",
                    400 <= r.status_code < 500 and is_problem(r),
                    f"{method} {path} {json.dumps(body)[:200]} → {r.status_code} {r.text[:300]}",
                )
                after = self.observe(org, path, fresh)
                self.check(
                    "api: bad input changes nothing",
                    before == after,
                    f"{method} {path}: before {before}, after {after}",
                )

    def observe(self, org: OrgModel, path: str, fresh: str) -> Any:
        """What a bad request could have changed: the appointment (and its events' changeKeys,
        its occurrences), the settings, the worker's link, the pushed appointments, the task."""
        if "/appointments/" in path:
            path = path.split("/occurrences/")[0]
            r = self.api("GET", path)
            if r.status_code == 404:
                return 404
            view = r.json()
            keys = []
            for t in view["targets"]:
                if t.get("eventId"):
                    e = self.g("GET", f"/users/{t['mailboxId']}/calendar/events/{t['eventId']}")
                    keys.append(e.json().get("changeKey") if e.status_code == 200 else e.status_code)
            occurrences = self.api("GET", f"{path}/occurrences").json() if view.get("recurrence") else None
            return [(t["mailboxId"], t["eventId"], t["state"]) for t in view["targets"]], keys, occurrences
        if path.endswith("/settings"):
            return self.api("GET", path).json()
        if path.endswith("/push-calendar"):
            return [self.api("GET", f"/orgs/{org.id}/appointments/{fresh}{s}").status_code for s in ("", "b")]
        if "/tasks/" in path:
            r = self.api("GET", path)
            return r.status_code, r.json() if r.status_code == 200 else None
        if path.endswith("/availability"):
            return None  # reads only
        view = self.api("GET", path).json()
        return view.get("status"), view.get("m365Account"), view.get("m365UserId")
