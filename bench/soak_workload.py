"""The soak's workload, the booking product's side (bench/soak.py): appointments (single,
online, recurring series and their occurrences), availability calls, the admin between
phases, and the seeded step table that mixes them with the people's steps (soak_people.py)
and the tasks' (soak_tasks.py).

Every write records what the booking product now wants in the model (soak_world.py); the
invariants (soak_invariants.py, soak_calendars.py) compare calsync's world with it.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from bench.soak_state import SoakState, now
from bench.soak_world import ONE_WAY, TWO_WAY, Appt, OrgModel

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class Workload(SoakState):
    # -- writes ---------------------------------------------------------------------------------
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

    def put_occurrence(self, org: OrgModel, appt: Appt, day: str, body: dict[str, Any], why: str) -> bool:
        """PUT …/occurrences/{day} (docs/api.md): only what differs, wall clock in the zone."""
        appt.busy = why
        r = self.api("PUT", f"/orgs/{org.id}/appointments/{appt.id}/occurrences/{day}", json=body)
        if not self.check(
            "api: booking accepted", r.status_code in (200, 202), f"PUT {appt.id} occurrence {day}: {r.text[:300]}"
        ):
            appt.busy = None
            return False
        self.answered(org, appt, r, f"{why} {day} {json.dumps(body)}")
        return True

    def cancel_occurrence(self, org: OrgModel, appt: Appt, day: str, why: str) -> bool:
        appt.busy = why
        r = self.api("DELETE", f"/orgs/{org.id}/appointments/{appt.id}/occurrences/{day}")
        if not self.check(
            "api: booking accepted", r.status_code in (200, 202), f"DELETE {appt.id} occurrence {day}: {r.text[:300]}"
        ):
            appt.busy = None
            return False
        appt.occ[day] = {"cancelled": True}
        self.answered(org, appt, r, f"{why} {day}")
        return True

    def answered(self, org: OrgModel, appt: Appt, r: httpx.Response, what: str | None = None) -> None:
        view = r.json()
        self.log(
            f"booking {org.id} {appt.busy} {appt.id} → {r.status_code} "
            + " ".join(
                f"{self.name(t['mailboxId'])}:{t['role']}:{t['state']}:{(t['eventId'] or '')[-10:]}"
                for t in view.get("targets", [])
            )
            + f" | {(what or json.dumps(appt.body()))[:200]}"
        )
        self.register(org, view)
        if r.status_code == 202 or any(t["state"] == "pending" for t in view["targets"]):
            self.stats["booking answered 202"] += 1
            appt.pending = True
            self.pending.add((org.id, appt.id))
        else:
            appt.busy = None

    # -- choosing -------------------------------------------------------------------------------
    def free(self, org: OrgModel) -> list[Appt]:
        return [a for a in org.appts.values() if not a.deleted and a.busy is None and not a.pending]

    def people(self, org: OrgModel, appt: Appt) -> None:
        workers = list(org.workers)
        appt.organizer = self.rng.choice(workers) if self.rng.random() < 0.85 else None
        others = [w for w in workers if w != appt.organizer]
        appt.attendees = self.rng.sample(others, self.rng.randint(0, min(2, len(others))))
        appt.resources = self.rng.sample(list(org.resources), self.rng.randint(0, min(1, len(org.resources))))
        appt.guests = [f"guest{self.next_id()}@example.com"] if self.rng.random() < 0.1 else []

    def new_appt(self, org: OrgModel) -> Appt:
        n = self.next_id()
        start, end = self.when()
        appt = Appt(org.id, f"a{n}", f"{org.prefix}a{n} v1", start, end, self.rng.choice(("UTC", "Europe/Oslo")))
        appt.location = "" if self.rng.random() < 0.5 else f"{org.prefix}loc{n}"
        self.people(org, appt)
        appt.online = self.rng.random() < 0.2  # docs/api.md "onlineMeeting": a Teams meeting
        return appt

    # -- appointments ---------------------------------------------------------------------------
    def op_book_create(self, org: OrgModel) -> bool:
        appt = self.new_appt(org)
        org.appts[appt.id] = appt
        self.put(org, appt, "create")
        return True

    def op_book_change(self, org: OrgModel, what: str) -> bool:
        free = self.free(org)
        if what == "move":  # a series moves by its own step (same dates): op_series_retime
            free = [a for a in free if not a.recurrence]
        if what == "online":
            free = [a for a in free if not a.online]
        if not free:
            return False
        appt = self.rng.choice(free)
        if what == "move":
            appt.start, appt.end = self.when()
        elif what == "retitle":
            appt.title = f"{org.prefix}{appt.id} v{self.next_id()}"
        elif what == "reattend":
            self.people(org, appt)
        elif what == "online":
            appt.online = True  # turned on later: the same meeting, PATCHed online
        elif what == "delete":
            self.delete(org, appt, "delete")
            return True
        self.put(org, appt, what)
        return True

    # -- recurring series (docs/api.md "Recurring appointments") ---------------------------------
    def op_series_create(self, org: OrgModel) -> bool:
        appt = self.new_appt(org)
        appt.title = f"{org.prefix}{appt.id} series v1"
        count = self.rng.randint(3, 5)
        if self.rng.random() < 0.5:
            pattern: dict[str, Any] = {"type": "daily", "interval": 1}
        else:
            local = appt.start.astimezone(ZoneInfo(appt.tz))
            pattern = {"type": "weekly", "interval": 1, "daysOfWeek": [WEEKDAYS[local.weekday()]]}
        appt.recurrence = {"pattern": pattern, "range": {"type": "numbered", "numberOfOccurrences": count}}
        org.appts[appt.id] = appt
        self.put(org, appt, "series create")
        return True

    def free_series(self, org: OrgModel) -> list[Appt]:
        return [a for a in self.free(org) if a.recurrence and a.put_once and a.occurrences()]

    def op_series_retime(self, org: OrgModel) -> bool:
        """The series' time of day changes (same dates): calsync PATCHes the series, Outlook
        drops its exceptions, calsync writes them again (docs/api.md)."""
        free = self.free_series(org)
        if not free:
            return False
        appt = self.rng.choice(free)
        shift = timedelta(minutes=self.rng.choice((-60, -30, 30, 60, 120)))
        local = (appt.start + shift).astimezone(ZoneInfo(appt.tz))
        if local.date() != appt.start.astimezone(local.tzinfo).date() or not 5 <= local.hour <= 20:
            return False
        appt.start, appt.end = appt.start + shift, appt.end + shift
        self.put(org, appt, "series retime")
        return True

    def op_occurrence(self, org: OrgModel, what: str) -> bool:
        """The booking product moves, retitles or cancels one occurrence."""
        free = self.free_series(org)
        if not free:
            return False
        appt = self.rng.choice(free)
        live = appt.occurrences()
        day = self.rng.choice(sorted(live))
        if (org.id, appt.id, day) in self.oneway_occ:
            return False  # what Outlook holds there is out of the model (oneway_occurrence)
        if what == "cancel":
            if len(live) < 2:
                return False  # the last one: the booking product deletes the appointment instead
            return self.cancel_occurrence(org, appt, day, "occurrence cancel")
        own = dict(appt.occ.get(day, {}))
        if what == "move":
            shifts = [-120, -60, 60, 180]
            if appt.recurrence["pattern"]["type"] == "weekly":
                shifts.append(24 * 60)  # a day later never passes the next occurrence
            start = live[day]["start"] + timedelta(minutes=self.rng.choice(shifts))
            own["start"], own["end"] = start, start + (appt.end - appt.start)
            body: dict[str, Any] = {"start": appt.local(own["start"]), "end": appt.local(own["end"])}
        else:
            own["title"] = f"{org.prefix}{appt.id} {day} v{self.next_id()}"
            body = {"title": own["title"]}
        appt.occ[day] = own
        return self.put_occurrence(org, appt, day, body, f"occurrence {what}")

    # -- availability (docs/api.md "Availability") -----------------------------------------------
    def op_availability(self, org: OrgModel) -> bool:
        workers = self.rng.sample(list(org.workers), self.rng.randint(1, min(3, len(org.workers))))
        resources = self.rng.sample(list(org.resources), self.rng.randint(0, len(org.resources)))
        if self.rng.random() < 0.15:
            workers.append("w-nobody")  # not known in the org: `unavailable`, never left out
        if self.rng.random() < 0.1 and workers:
            workers.append(workers[0])  # repeats are asked once
        start, _ = self.when()
        day = start.replace(hour=0, minute=0)
        ask = {
            "workers": workers,
            "resources": resources,
            "start": day.strftime("%Y-%m-%dT%H:%M:%S"),
            "end": (day + timedelta(days=self.rng.choice((1, 2)))).strftime("%Y-%m-%dT%H:%M:%S"),
            "timeZone": self.rng.choice(("UTC", "Europe/Oslo", "W. Europe Standard Time")),
            "intervalMinutes": self.rng.choice((15, 30, 60)),
        }
        r = self.api("POST", f"/orgs/{org.id}/availability", json=ask)
        self.check_availability(org, ask, r)  # soak_invariants.Invariants
        return True

    # -- the admin between phases -----------------------------------------------------------------
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

    # -- one step ---------------------------------------------------------------------------------
    def step(self) -> bool:
        org = self.rng.choice(list(self.orgs.values()))
        live = sum(1 for a in org.appts.values() if not a.deleted)
        series = sum(1 for a in org.appts.values() if not a.deleted and a.recurrence)
        tasks = sum(1 for t in org.tasks.values() if not t.deleted)
        ops: list[tuple[str, float, Any]] = [
            ("booking create", 14 if live < 30 else 1, lambda: self.op_book_create(org)),
            ("booking move", 8, lambda: self.op_book_change(org, "move")),
            ("booking retitle", 7, lambda: self.op_book_change(org, "retitle")),
            ("booking re-attend", 7, lambda: self.op_book_change(org, "reattend")),
            ("booking delete", 3 if live < 30 else 10, lambda: self.op_book_change(org, "delete")),
            ("booking online on", 1, lambda: self.op_book_change(org, "online")),
            ("booking series create", 4 if series < 8 else 0.5, lambda: self.op_series_create(org)),
            ("booking series retime", 1, lambda: self.op_series_retime(org)),
            ("booking occurrence move", 3, lambda: self.op_occurrence(org, "move")),
            ("booking occurrence retitle", 2, lambda: self.op_occurrence(org, "retitle")),
            ("booking occurrence cancel", 2, lambda: self.op_occurrence(org, "cancel")),
            ("booking task create", 4 if tasks < 16 else 0.5, lambda: self.op_task_create(org)),
            ("booking task edit", 3, lambda: self.op_task_change(org, "edit")),
            ("booking task move", 1, lambda: self.op_task_change(org, "move")),
            ("booking task delete", 1.5, lambda: self.op_task_change(org, "delete")),
            ("availability", 2, lambda: self.op_availability(org)),
            ("outlook edit", 7, lambda: self.op_outlook_edit(org, "title")),
            ("outlook move", 5, lambda: self.op_outlook_edit(org, "move")),
            ("outlook relocate", 3, lambda: self.op_outlook_edit(org, "location")),
            ("outlook delete", 3, lambda: self.op_outlook_delete(org)),
            ("outlook respond", 6, lambda: self.op_outlook_respond(org)),
            ("outlook create", 4, lambda: self.op_personal_create(False)),
            ("outlook room reservation", 2, lambda: self.op_personal_create(True)),
            ("outlook personal edit", 3, lambda: self.op_personal_change(False)),
            ("outlook personal delete", 1.5, lambda: self.op_personal_change(True)),
            ("outlook occurrence edit", 3, lambda: self.op_outlook_occurrence(org, "title")),
            ("outlook occurrence move", 2, lambda: self.op_outlook_occurrence(org, "move")),
            ("outlook occurrence delete", 2, lambda: self.op_outlook_occurrence(org, "delete")),
            ("todo edit", 2, lambda: self.op_todo(org, "title")),
            ("todo complete", 2, lambda: self.op_todo(org, "complete")),
            ("todo delete", 1, lambda: self.op_todo(org, "delete")),
        ]
        name, _, fn = self.rng.choices(ops, weights=[w for _, w, _ in ops])[0]
        if fn():
            self.steps[name] += 1
            return True
        return False
